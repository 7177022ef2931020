-- Size of one side's staged extract. Parameters: run_id, channel.
SELECT count(DISTINCT product_id) AS products, count(*) AS variants, min(extracted_at)
FROM staged_variants
WHERE run_id = $1 AND channel = $2
