-- Seller SKUs the store's latest accepted extract (parameter 1: channel) received altered
-- by the report's encoding (report_altered_skus).
SELECT DISTINCT a.seller_sku
FROM report_altered_skus AS a
WHERE a.channel = $1
  AND a.run_id = (
      SELECT run_id FROM catalog_snapshots WHERE channel = $1 AND accepted
      ORDER BY extracted_at DESC LIMIT 1
  )
