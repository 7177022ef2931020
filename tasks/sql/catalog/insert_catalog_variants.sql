-- Promote, step 2: the run's staged variants become the channel's accepted ones.
-- Parameters: run_id, channel.
INSERT INTO catalog_variants BY NAME
SELECT * FROM staged_variants WHERE run_id = $1 AND channel = $2
