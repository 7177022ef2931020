-- Settle PENDING ledger rows left by a run that ended before recording its outcome
-- (crash, kill). A row whose value is what the current TikTok catalog shows is confirmed
-- UPDATED; any other is marked FAILED (outcome unknown) and the new plan, made from the
-- same catalog, redoes it if it is still needed. Parameter: $run_id (the settling run).
UPDATE push_ledger AS l
SET status = CASE WHEN c.current_value IS NOT NULL AND c.current_value = c.wanted
                  THEN 'UPDATED' ELSE 'FAILED' END,
    error = CASE WHEN c.current_value IS NOT NULL AND c.current_value = c.wanted
                 THEN 'confirmed from the TikTok catalog by run ' || $run_id
                 ELSE 'outcome unknown: the run ended before recording it; run ' || $run_id
                      || ' re-planned from the catalog' END,
    updated_at = now()
FROM (
    SELECT p.run_id, p.tiktok_sku_id, p.field,
           CASE p.field
               WHEN 'price' THEN CAST(TRY_CAST(p.new AS DECIMAL(18, 4)) AS VARCHAR)
               ELSE CAST(TRY_CAST(p.new AS BIGINT) AS VARCHAR) END AS wanted,
           CASE p.field
               WHEN 'price' THEN (
                   SELECT CAST(CAST(v.price AS DECIMAL(18, 4)) AS VARCHAR)
                   FROM catalog_variants AS v
                   WHERE v.channel = 'tiktok' AND v.variant_id = p.tiktok_sku_id LIMIT 1)
               -- inventory: the stock summed over the warehouse(s) the row wrote to
               -- (comma-separated with a location map), as the plan reports it.
               ELSE (
                   SELECT CAST(sum(s.quantity) AS VARCHAR)
                   FROM catalog_stock AS s
                   WHERE s.channel = 'tiktok' AND s.variant_id = p.tiktok_sku_id
                     AND list_contains(string_split(p.warehouse_id, ','), s.location_id))
               END AS current_value
    FROM push_ledger AS p
    WHERE p.status = 'PENDING'
) AS c
WHERE l.status = 'PENDING'
  AND l.run_id = c.run_id AND l.tiktok_sku_id = c.tiktok_sku_id AND l.field = c.field
