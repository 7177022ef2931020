-- Promote, step 2: the run's staged stock rows become the channel's accepted ones.
-- Parameters: run_id, channel.
INSERT INTO catalog_stock BY NAME
SELECT * FROM staged_stock WHERE run_id = $1 AND channel = $2
