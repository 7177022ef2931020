-- The variant ids of one side's staged change set. Parameters: run_id, channel.
SELECT DISTINCT variant_id FROM staged_variants WHERE run_id = $1 AND channel = $2
