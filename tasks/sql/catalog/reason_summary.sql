-- Counts per status and reason of a run's mapping report (mapped: per method).
-- `products` counts each TikTok product once, under its product-level reason (the first of
-- its SKUs' reasons in docs/reports.md order) or, when all its SKUs are mapped, its method(s);
-- `skus` counts each SKU under its own reason/method. Parameter: run_id.
WITH r AS (
    SELECT
        tiktok_product_id,
        status,
        CASE WHEN status = 'unmapped' THEN coalesce(reason, 'UNMAPPED') ELSE '' END AS reason,
        CASE WHEN status = 'mapped' THEN coalesce(method, '') ELSE '' END AS method
    FROM mapping_report
    WHERE run_id = $1
),
ranked AS (
    SELECT
        *,
        coalesce(list_position(
            ['MISSING_SKU', 'DUPLICATE_TIKTOK_SKU', 'SKU_NOT_FOUND', 'DUPLICATE_STORE_SKU',
             'SPLIT_ACROSS_PRODUCTS', 'VARIANT_COUNT_MISMATCH', 'STORE_PRODUCT_TAKEN'],
            reason
        ), 99) AS rank
    FROM r
),
products AS (
    SELECT
        tiktok_product_id,
        bool_and(status = 'mapped') AS all_mapped,
        first(reason ORDER BY rank, reason) FILTER (WHERE status = 'unmapped') AS reason,
        array_to_string(list_sort(list_distinct(list(method))), '+') AS methods
    FROM ranked
    GROUP BY tiktok_product_id
),
per_product AS (
    SELECT
        CASE WHEN all_mapped THEN 'mapped' ELSE 'unmapped' END AS status,
        CASE WHEN all_mapped THEN '' ELSE reason END AS reason,
        CASE WHEN all_mapped THEN methods ELSE '' END AS method,
        count(*) AS products
    FROM products
    GROUP BY ALL
),
per_sku AS (
    SELECT status, reason, method, count(*) AS skus
    FROM r
    GROUP BY ALL
)
SELECT
    status,
    reason,
    method,
    coalesce(p.products, 0) AS products,
    coalesce(s.skus, 0) AS skus
FROM per_product AS p
FULL OUTER JOIN per_sku AS s USING (status, reason, method)
ORDER BY status, reason, method
