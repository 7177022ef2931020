-- Promote an incremental extract, stock: the stock rows of the changed variants are
-- replaced by the staged ones. Parameters: run_id, channel.
DELETE FROM catalog_stock
WHERE channel = $2
  AND variant_id IN (SELECT variant_id FROM staged_variants WHERE run_id = $1 AND channel = $2);
