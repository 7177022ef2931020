-- A stock-only change set: SKUs the accepted catalog does not hold yet wait for the next
-- full read. Parameters: run_id, channel.
DELETE FROM staged_variants
WHERE run_id = $1 AND channel = $2
  AND variant_id NOT IN (SELECT variant_id FROM catalog_variants WHERE channel = $2)
