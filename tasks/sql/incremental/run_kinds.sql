-- The kind of each side of a run. Parameter: run_id.
SELECT channel, kind, started_at FROM catalog_extracts WHERE run_id = $1
