-- The latest accepted catalog snapshot of a channel (what "collapsed" is measured against).
-- Parameter: channel, run_id to leave out (the run being checked).
SELECT run_id, products, variants, extracted_at
FROM catalog_snapshots
WHERE channel = $1 AND accepted AND run_id <> $2
ORDER BY extracted_at DESC
LIMIT 1
