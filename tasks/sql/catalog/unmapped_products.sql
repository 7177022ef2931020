-- One row per unmapped TikTok product of a run's mapping report: the product's reason
-- (the first of its SKUs' reasons in docs/reports.md order), SKU count, SKU reasons with counts, up
-- to 10 seller SKUs, and how many of its SKUs carry a suggestion. Parameter: run_id.
WITH r AS (
    SELECT
        tiktok_product_id,
        tiktok_sku_id,
        seller_sku,
        suggestion,
        coalesce(reason, 'UNMAPPED') AS reason
    FROM mapping_report
    WHERE run_id = $1 AND status = 'unmapped'
),
per_reason AS (
    SELECT
        tiktok_product_id,
        reason,
        coalesce(list_position(
            ['MISSING_SKU', 'DUPLICATE_TIKTOK_SKU', 'SKU_NOT_FOUND', 'DUPLICATE_STORE_SKU',
             'SPLIT_ACROSS_PRODUCTS', 'VARIANT_COUNT_MISMATCH', 'STORE_PRODUCT_TAKEN'],
            reason
        ), 99) AS rank,
        count(*) AS n
    FROM r
    GROUP BY ALL
),
reasons AS (
    SELECT
        tiktok_product_id,
        first(reason ORDER BY rank, reason) AS reason,
        string_agg(reason || ' x' || n, ', ' ORDER BY reason) AS sku_reasons
    FROM per_reason
    GROUP BY ALL
),
skus AS (
    SELECT
        tiktok_product_id,
        count(*) AS skus,
        coalesce(
            list(seller_sku ORDER BY tiktok_sku_id) FILTER (WHERE seller_sku IS NOT NULL), []
        ) AS seller_skus,
        count(suggestion) AS suggestions
    FROM r
    GROUP BY ALL
),
titles AS (
    SELECT product_id, any_value(title) AS title
    FROM catalog_variants
    WHERE channel = 'tiktok'
    GROUP BY product_id
)
SELECT
    s.tiktok_product_id,
    coalesce(t.title, '') AS title,
    x.reason,
    s.skus,
    x.sku_reasons,
    array_to_string(list_slice(s.seller_skus, 1, 10), ', ')
        || CASE WHEN len(s.seller_skus) > 10 THEN ' ...' ELSE '' END AS seller_skus,
    s.suggestions
FROM skus AS s
JOIN reasons AS x USING (tiktok_product_id)
LEFT JOIN titles AS t ON t.product_id = s.tiktok_product_id
ORDER BY s.tiktok_product_id
