-- The create's outcome: RELAYED with the store order id, or FAILED with the (scrubbed)
-- store message. $1 id, $2 state, $3 reason, $4 store order id, $5 error, $6 run id, $7 now
UPDATE order_ledger
SET state = $2, reason = $3, store_order_id = coalesce($4, store_order_id), error = $5,
    run_id = $6, updated_at = $7
WHERE tiktok_order_id = $1
