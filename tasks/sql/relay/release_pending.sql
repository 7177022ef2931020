-- The store has no order for this PENDING row (looked up, not found, past the search-lag
-- grace): nothing was created, so the row may be decided afresh. Compare-and-set on the
-- attempts this run read. $1 id, $2 attempts read, $3 now
UPDATE order_ledger SET state = 'WAITING', updated_at = $3
WHERE tiktok_order_id = $1 AND state = 'PENDING' AND attempts = $2
