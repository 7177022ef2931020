-- One side's extract kind (a rerun of a run id replaces it).
-- Parameters: run_id, channel, kind, since, started_at, reason.
INSERT OR REPLACE INTO catalog_extracts (run_id, channel, kind, since, started_at, reason)
VALUES ($1, $2, $3, $4, $5, $6)
