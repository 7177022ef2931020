-- A stock-only change set: stock of SKUs the accepted catalog does not hold yet waits for
-- the next full read (it has no listing data to go with). Parameters: run_id, channel.
DELETE FROM staged_stock
WHERE run_id = $1 AND channel = $2
  AND variant_id NOT IN (SELECT variant_id FROM catalog_variants WHERE channel = $2)
