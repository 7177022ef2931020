-- Auto-map, step 3: classify every TikTok SKU (set-based; one pass per level).

-- SKU level: the SKU's own reason, and its unique exact store match when there is one.
CREATE OR REPLACE TEMP TABLE map_sku AS
SELECT
    t.tiktok_product_id,
    t.tiktok_sku_id,
    t.seller_sku,
    CASE
        WHEN t.sku IS NULL THEN 'MISSING_SKU'
        WHEN d.sku IS NOT NULL THEN 'DUPLICATE_TIKTOK_SKU'
        WHEN s.sku IS NULL THEN 'SKU_NOT_FOUND'
        WHEN s.sku_count > 1 THEN 'DUPLICATE_STORE_SKU'
    END AS sku_reason,
    CASE WHEN s.sku_count = 1 THEN s.store_variant_id END AS match_variant_id,
    CASE WHEN s.sku_count = 1 THEN s.store_product_id END AS match_product_id,
    CASE WHEN s.sku_count = 1 THEN s.family END AS match_family,
    CASE WHEN s.sku_count = 1 THEN f.family_size END AS match_family_size,
    CASE WHEN s.sku_count = 1 THEN s.sku END AS match_sku
FROM map_tiktok AS t
LEFT JOIN map_store_by_sku AS s ON s.sku = t.sku
LEFT JOIN map_family AS f ON f.family = s.family
LEFT JOIN (
    SELECT sku FROM map_tiktok WHERE sku IS NOT NULL GROUP BY sku HAVING count(*) > 1
) AS d ON d.sku = t.sku;

-- Store variants / products held by manual or csv links (with the TikTok products holding
-- them, as min/max so "held by another product" needs no row-multiplying join).
CREATE OR REPLACE TEMP TABLE map_taken_variant AS
SELECT store_variant_id, min(tiktok_product_id) AS p_min, max(tiktok_product_id) AS p_max
FROM map_fixed GROUP BY store_variant_id;

CREATE OR REPLACE TEMP TABLE map_taken_product AS
SELECT store_product_id, min(tiktok_product_id) AS p_min, max(tiktok_product_id) AS p_max
FROM map_fixed GROUP BY store_product_id;

-- Product level: the first reason that applies, in the DESIGN.md table order.
CREATE OR REPLACE TEMP TABLE map_product AS
WITH agg AS (
    SELECT
        k.tiktok_product_id,
        count(*) AS n_tiktok,
        min(
            CASE k.sku_reason
                WHEN 'MISSING_SKU' THEN 1
                WHEN 'DUPLICATE_TIKTOK_SKU' THEN 2
                WHEN 'SKU_NOT_FOUND' THEN 3
                WHEN 'DUPLICATE_STORE_SKU' THEN 4
            END
        ) AS first_sku_reason,
        min(k.match_family) AS family_min,
        max(k.match_family) AS family_max,
        count(k.match_family) AS family_rows,
        max(k.match_family_size) AS family_size,
        bool_or(
            (tv.store_variant_id IS NOT NULL
                AND (tv.p_min <> k.tiktok_product_id OR tv.p_max <> k.tiktok_product_id))
            OR (tp.store_product_id IS NOT NULL
                AND (tp.p_min <> k.tiktok_product_id OR tp.p_max <> k.tiktok_product_id))
        ) AS taken
    FROM map_sku AS k
    LEFT JOIN map_taken_variant AS tv ON tv.store_variant_id = k.match_variant_id
    LEFT JOIN map_taken_product AS tp ON tp.store_product_id = k.match_product_id
    GROUP BY k.tiktok_product_id
)
SELECT
    a.tiktok_product_id,
    a.family_min AS target,
    f.tiktok_product_id IS NOT NULL AS fixed,
    CASE
        WHEN a.first_sku_reason = 1 THEN 'MISSING_SKU'
        WHEN a.first_sku_reason = 2 THEN 'DUPLICATE_TIKTOK_SKU'
        WHEN a.first_sku_reason = 3 THEN 'SKU_NOT_FOUND'
        WHEN a.first_sku_reason = 4 THEN 'DUPLICATE_STORE_SKU'
        -- several families, or (Amazon) parented and standalone listings mixed
        WHEN a.family_min <> a.family_max
            OR (a.family_rows > 0 AND a.family_rows < a.n_tiktok) THEN 'SPLIT_ACROSS_PRODUCTS'
        -- one family; all-standalone Amazon products (family_rows = 0) skip this rule
        WHEN a.family_rows > 0 AND a.family_size <> a.n_tiktok THEN 'VARIANT_COUNT_MISMATCH'
        WHEN a.taken THEN 'STORE_PRODUCT_TAKEN'
    END AS reason
FROM agg AS a
LEFT JOIN (SELECT DISTINCT tiktok_product_id FROM map_fixed) AS f
    ON f.tiktok_product_id = a.tiktok_product_id;

-- Same-run competition for one store product (cannot arise while SKUs are unique on both
-- sides, kept as a guard): the product already auto-linked to it wins, else the lowest
-- TikTok product id (string order); the others get STORE_PRODUCT_TAKEN. Only products
-- mapping to one family can compete: a standalone Amazon listing carries a unique SKU, so
-- it matches one TikTok SKU at most.
CREATE OR REPLACE TEMP TABLE map_winner AS
WITH cand AS (
    SELECT tiktok_product_id, target
    FROM map_product
    WHERE reason IS NULL AND NOT fixed AND target IS NOT NULL
),
ranked AS (
    SELECT
        c.tiktok_product_id,
        c.target,
        EXISTS (
            SELECT 1 FROM mappings AS m
            WHERE m.tiktok_product_id = c.tiktok_product_id
              AND m.store_product_id = c.target AND m.method = 'auto'
        ) AS incumbent
    FROM cand AS c
    SEMI JOIN (
        SELECT target FROM cand
        GROUP BY target HAVING min(tiktok_product_id) <> max(tiktok_product_id)
    ) AS x ON x.target = c.target
),
win AS (
    SELECT
        target,
        coalesce(
            min(tiktok_product_id) FILTER (WHERE incumbent), min(tiktok_product_id)
        ) AS winner
    FROM ranked
    GROUP BY target
)
SELECT DISTINCT r.tiktok_product_id
FROM ranked AS r JOIN win AS w ON w.target = r.target
WHERE w.winner <> r.tiktok_product_id;

UPDATE map_product SET reason = 'STORE_PRODUCT_TAKEN'
WHERE tiktok_product_id IN (SELECT tiktok_product_id FROM map_winner);

-- Final state per TikTok SKU. A SKU with its own SKU-level reason carries it; the other
-- SKUs of an unmapped product carry the product's reason. SKUs of a manually mapped
-- product that have no link of their own: their SKU-level reason, else
-- VARIANT_COUNT_MISMATCH (the product has more variants than were mapped).
CREATE OR REPLACE TEMP TABLE map_result AS
SELECT
    k.tiktok_product_id,
    k.tiktok_sku_id,
    k.seller_sku,
    CASE
        WHEN f.tiktok_sku_id IS NOT NULL THEN NULL
        WHEN p.fixed THEN coalesce(k.sku_reason, 'VARIANT_COUNT_MISMATCH')
        WHEN p.reason IS NULL THEN NULL
        ELSE coalesce(k.sku_reason, p.reason)
    END AS reason,
    CASE
        WHEN f.tiktok_sku_id IS NOT NULL THEN f.method
        WHEN NOT p.fixed AND p.reason IS NULL THEN 'auto'
    END AS method,
    CASE WHEN f.tiktok_sku_id IS NOT NULL THEN f.store_product_id ELSE k.match_product_id END
        AS store_product_id,
    CASE WHEN f.tiktok_sku_id IS NOT NULL THEN f.store_variant_id ELSE k.match_variant_id END
        AS store_variant_id,
    CASE WHEN f.tiktok_sku_id IS NOT NULL THEN f.store_sku ELSE k.match_sku END AS store_sku
FROM map_sku AS k
JOIN map_product AS p ON p.tiktok_product_id = k.tiktok_product_id
LEFT JOIN map_fixed AS f ON f.tiktok_sku_id = k.tiktok_sku_id;
