-- One side's staged extract as the catalog checks see it: one row per staged variant,
-- with the smallest per-location quantity next to the summed quantity.
-- Parameters: run_id, channel.
WITH stock AS (
    SELECT variant_id, min(quantity) AS min_location_quantity
    FROM staged_stock
    WHERE run_id = $1 AND channel = $2
    GROUP BY variant_id
)
SELECT
    v.product_id,
    v.variant_id,
    v.seller_sku,
    CAST(v.price AS DOUBLE) AS price,
    v.quantity,
    stock.min_location_quantity
FROM staged_variants AS v
LEFT JOIN stock USING (variant_id)
WHERE v.run_id = $1 AND v.channel = $2
