-- One accepted or rejected extract in the size history (a rerun of a run id replaces it).
-- Parameters: run_id, channel, products, variants, accepted, reason, extracted_at.
INSERT OR REPLACE INTO catalog_snapshots
    (run_id, channel, products, variants, accepted, reason, extracted_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
