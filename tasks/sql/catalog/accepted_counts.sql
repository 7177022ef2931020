-- Size of a channel's accepted catalog. Parameter: channel.
SELECT count(DISTINCT product_id) AS products, count(*) AS variants
FROM catalog_variants
WHERE channel = $1
