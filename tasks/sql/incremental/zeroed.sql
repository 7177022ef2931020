-- An incremental change set's stock drop: accepted variants of the channel that have stock,
-- and how many of them the run's staged rows set to zero. Parameters: run_id, channel.
SELECT
    count(*) FILTER (WHERE c.quantity > 0) AS stocked,
    count(*) FILTER (WHERE c.quantity > 0 AND s.quantity = 0) AS zeroed
FROM catalog_variants c
LEFT JOIN staged_variants s
    ON s.run_id = $1 AND s.channel = c.channel AND s.variant_id = c.variant_id
WHERE c.channel = $2
