-- Claim a known order for a create, compare-and-set on what this run read (state and
-- attempts): a concurrent run that claimed it first makes this update 0 rows.
-- $1 id, $2 request id, $3 lines JSON, $4 tiktok status, $5 run id, $6 now, $7 warning,
-- $8 state read, $9 attempts read
UPDATE order_ledger
SET state = 'PENDING', reason = NULL, error = NULL, store_request_id = $2, lines = $3,
    tiktok_status = $4, attempts = attempts + 1, run_id = $5, updated_at = $6,
    attempted_at = $6, warning = $7
WHERE tiktok_order_id = $1 AND state = $8 AND attempts = $9
  AND state <> 'RELAYED'
