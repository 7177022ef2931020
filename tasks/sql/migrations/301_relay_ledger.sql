-- Order relay additions to the ledger (300_orders.sql keeps its columns).
-- state now also takes WAITING (seen, not relayable yet, looked at again next run).
-- attempted_at: when the last store create was sent (a PENDING row younger than the
-- store's search lag is not re-created, see tasks/relay.py); error: the store's answer
-- for STORE_REJECTED, with the buyer's data scrubbed; warning: MASKED_BUYER and others.
ALTER TABLE order_ledger ADD COLUMN IF NOT EXISTS attempted_at TIMESTAMPTZ;
ALTER TABLE order_ledger ADD COLUMN IF NOT EXISTS error VARCHAR;
ALTER TABLE order_ledger ADD COLUMN IF NOT EXISTS warning VARCHAR;
