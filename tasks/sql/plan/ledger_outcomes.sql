-- Record call outcomes on this run's ledger rows in one statement. The outcomes are a
-- registered frame `push_outcomes` (tiktok_sku_id, field, status, error).
-- Parameter: $run_id.
UPDATE push_ledger AS l
SET status = o.status, error = o.error, updated_at = now()
FROM push_outcomes AS o
WHERE l.run_id = $run_id AND l.tiktok_sku_id = o.tiktok_sku_id AND l.field = o.field
