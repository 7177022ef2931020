-- A PENDING row whose outcome is still unknown: keep it PENDING, note the run.
-- $1 id, $2 tiktok status, $3 run id, $4 now
UPDATE order_ledger SET tiktok_status = $2, run_id = $3, updated_at = $4
WHERE tiktok_order_id = $1 AND state = 'PENDING'
