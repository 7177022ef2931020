-- Before landing a channel's extract: drop its altered-SKU rows except the accepted
-- extracts' (parameter 1: channel); the suggestions read the latest accepted one.
DELETE FROM report_altered_skus
WHERE channel = $1
  AND run_id NOT IN (
      SELECT run_id FROM catalog_snapshots WHERE channel = $1 AND accepted
      ORDER BY extracted_at DESC LIMIT 1
  )
