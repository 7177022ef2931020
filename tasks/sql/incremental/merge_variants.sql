-- Promote an incremental extract: the run's staged variants replace the accepted rows of
-- the same variant ids (changed) or are added (new); other accepted rows stay.
-- Parameters: run_id, channel.
DELETE FROM catalog_variants
WHERE channel = $2
  AND variant_id IN (SELECT variant_id FROM staged_variants WHERE run_id = $1 AND channel = $2);
