-- Promote, step 3: the run's staged stock rows are no longer needed. Parameters: run_id, channel.
DELETE FROM staged_stock WHERE run_id = $1 AND channel = $2
