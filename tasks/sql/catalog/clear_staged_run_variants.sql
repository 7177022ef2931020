-- Promote, step 3: the run's staged variants are no longer needed. Parameters: run_id, channel.
DELETE FROM staged_variants WHERE run_id = $1 AND channel = $2
