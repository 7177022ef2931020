-- Auto-map, step 3: classify every TikTok SKU, as one query (no statement terminator):
-- auto_map stores its rows as map_result; classify() only counts them, so a preview
-- stores nothing. The intermediate sets are CTEs (the SKU and product levels are
-- materialised once because two later parts read each), which costs far less than
-- creating temp tables of long VARCHAR columns that are read once.
-- Besides the per-SKU state, each row carries three product-level columns for the run
-- outcome: product_reason (the product's reason; also set for a manually mapped product),
-- product_head (true on exactly one row per product) and product_mapped (every SKU of the
-- product has a link).
WITH
-- One row per store SKU: how many variants carry it and, when exactly one, which. The
-- report's store product is the family or (standalone Amazon listing, no family) the
-- listing's product, so only family-less rows carry product_id (on Shopify none do).
by_sku AS (
    SELECT
        sku,
        count(*) AS sku_count,
        any_value(store_variant_id) AS store_variant_id,
        any_value(family) AS family,
        any_value(CASE WHEN family IS NULL THEN store_product_id END) AS product_id
    FROM map_store WHERE sku IS NOT NULL
    GROUP BY sku
),
-- TikTok SKUs carried by more than one TikTok variant.
tdup AS (
    SELECT sku FROM map_tiktok WHERE sku IS NOT NULL GROUP BY sku HAVING count(*) > 1
),
-- Variants per family (the "number of variants" of a store product).
family AS (
    SELECT family, count(*) AS family_size FROM map_store WHERE family IS NOT NULL GROUP BY family
),
-- SKU level: the SKU's own reason (1-4 in DESIGN.md order), its unique exact store match
-- when there is one, and its manual/csv link if it keeps one.
sku AS MATERIALIZED (
    SELECT
        t.trow,
        t.tiktok_product_id,
        t.tiktok_sku_id,
        t.seller_sku,
        CASE
            WHEN t.sku IS NULL THEN 1
            WHEN d.sku IS NOT NULL THEN 2
            WHEN s.sku IS NULL THEN 3
            WHEN s.sku_count > 1 THEN 4
        END AS sku_reason,
        CASE WHEN s.sku_count = 1 THEN s.store_variant_id END AS match_variant_id,
        CASE WHEN s.sku_count = 1 THEN coalesce(s.family, s.product_id) END AS match_product_id,
        CASE WHEN s.sku_count = 1 THEN s.family END AS match_family,
        CASE WHEN s.sku_count = 1 THEN f.family_size END AS match_family_size,
        CASE WHEN s.sku_count = 1 THEN t.sku END AS match_sku,
        x.tiktok_sku_id IS NOT NULL AS has_link,
        x.method AS link_method,
        x.store_product_id AS link_product_id,
        x.store_variant_id AS link_variant_id,
        x.store_sku AS link_sku
    FROM map_tiktok AS t
    LEFT JOIN by_sku AS s ON s.sku = t.sku
    LEFT JOIN family AS f ON f.family = s.family
    LEFT JOIN tdup AS d ON d.sku = t.sku
    LEFT JOIN map_fixed AS x ON x.tiktok_sku_id = t.tiktok_sku_id
),
-- Store variants / products held by manual or csv links (with the TikTok products holding
-- them, as min/max so "held by another product" needs no row-multiplying join).
taken_variant AS (
    SELECT store_variant_id, min(tiktok_product_id) AS p_min, max(tiktok_product_id) AS p_max
    FROM map_fixed GROUP BY store_variant_id
),
taken_product AS (
    SELECT store_product_id, min(tiktok_product_id) AS p_min, max(tiktok_product_id) AS p_max
    FROM map_fixed GROUP BY store_product_id
),
agg AS (
    SELECT
        k.tiktok_product_id,
        min(k.trow) AS head,
        count(*) AS n_tiktok,
        count(*) FILTER (WHERE k.has_link) AS n_linked,
        min(k.sku_reason) AS first_sku_reason,
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
    FROM sku AS k
    LEFT JOIN taken_variant AS tv ON tv.store_variant_id = k.match_variant_id
    LEFT JOIN taken_product AS tp ON tp.store_product_id = k.match_product_id
    GROUP BY k.tiktok_product_id
),
-- Product level: the first reason that applies, in the DESIGN.md table order.
product AS MATERIALIZED (
    SELECT
        a.tiktok_product_id,
        a.head,
        a.n_tiktok,
        a.n_linked,
        a.family_min AS target,
        fp.tiktok_product_id IS NOT NULL AS fixed,
        CASE
            WHEN a.first_sku_reason = 1 THEN 'MISSING_SKU'
            WHEN a.first_sku_reason = 2 THEN 'DUPLICATE_TIKTOK_SKU'
            WHEN a.first_sku_reason = 3 THEN 'SKU_NOT_FOUND'
            WHEN a.first_sku_reason = 4 THEN 'DUPLICATE_STORE_SKU'
            -- several families, or (Amazon) parented and standalone listings mixed
            WHEN a.family_min <> a.family_max
                OR (a.family_rows > 0 AND a.family_rows < a.n_tiktok)
                THEN 'SPLIT_ACROSS_PRODUCTS'
            -- one family; all-standalone Amazon products (family_rows = 0) skip this rule
            WHEN a.family_rows > 0 AND a.family_size <> a.n_tiktok THEN 'VARIANT_COUNT_MISMATCH'
            WHEN a.taken THEN 'STORE_PRODUCT_TAKEN'
        END AS reason
    FROM agg AS a
    LEFT JOIN (SELECT DISTINCT tiktok_product_id FROM map_fixed) AS fp
        ON fp.tiktok_product_id = a.tiktok_product_id
),
-- Same-run competition for one store product (cannot arise while SKUs are unique on both
-- sides, kept as a guard): the product already auto-linked to it wins, else the lowest
-- TikTok product id (string order); the others get STORE_PRODUCT_TAKEN. Only products
-- mapping to one family can compete: a standalone Amazon listing carries a unique SKU, so
-- it matches one TikTok SKU at most.
cand AS (
    SELECT tiktok_product_id, target
    FROM product
    WHERE reason IS NULL AND NOT fixed AND target IS NOT NULL
),
contested AS MATERIALIZED (
    SELECT c.tiktok_product_id, c.target
    FROM cand AS c
    SEMI JOIN (
        SELECT target FROM cand
        GROUP BY target HAVING min(tiktok_product_id) <> max(tiktok_product_id)
    ) AS x ON x.target = c.target
),
incumbent AS (
    SELECT DISTINCT m.tiktok_product_id, m.store_product_id
    FROM mappings AS m
    SEMI JOIN contested AS c
        ON c.tiktok_product_id = m.tiktok_product_id AND c.target = m.store_product_id
    WHERE m.method = 'auto'
),
ranked AS (
    SELECT
        c.tiktok_product_id,
        c.target,
        i.tiktok_product_id IS NOT NULL AS incumbent
    FROM contested AS c
    LEFT JOIN incumbent AS i
        ON i.tiktok_product_id = c.tiktok_product_id AND i.store_product_id = c.target
),
win AS (
    SELECT
        target,
        coalesce(
            min(tiktok_product_id) FILTER (WHERE incumbent), min(tiktok_product_id)
        ) AS winner
    FROM ranked
    GROUP BY target
),
loser AS (
    SELECT DISTINCT r.tiktok_product_id
    FROM ranked AS r JOIN win AS w ON w.target = r.target
    WHERE w.winner <> r.tiktok_product_id
),
final_product AS (
    SELECT
        p.tiktok_product_id,
        p.head,
        p.fixed,
        CASE WHEN l.tiktok_product_id IS NOT NULL THEN 'STORE_PRODUCT_TAKEN' ELSE p.reason END
            AS reason,
        p.n_linked = p.n_tiktok AS all_linked
    FROM product AS p
    LEFT JOIN loser AS l ON l.tiktok_product_id = p.tiktok_product_id
)
-- Final state per TikTok SKU. A SKU with its own SKU-level reason carries it; the other
-- SKUs of an unmapped product carry the product's reason. SKUs of a manually mapped
-- product that have no link of their own: their SKU-level reason, else
-- VARIANT_COUNT_MISMATCH (the product has more variants than were mapped).
SELECT
    k.tiktok_product_id,
    k.tiktok_sku_id,
    k.seller_sku,
    CASE
        WHEN k.has_link THEN NULL
        WHEN p.fixed THEN coalesce(sku_code, 'VARIANT_COUNT_MISMATCH')
        WHEN p.reason IS NULL THEN NULL
        ELSE coalesce(sku_code, p.reason)
    END AS reason,
    CASE
        WHEN k.has_link THEN k.link_method
        WHEN NOT p.fixed AND p.reason IS NULL THEN 'auto'
    END AS method,
    CASE WHEN k.has_link THEN k.link_product_id ELSE k.match_product_id END AS store_product_id,
    CASE WHEN k.has_link THEN k.link_variant_id ELSE k.match_variant_id END AS store_variant_id,
    CASE WHEN k.has_link THEN k.link_sku ELSE k.match_sku END AS store_sku,
    p.reason AS product_reason,
    k.trow = p.head AS product_head,
    (NOT p.fixed AND p.reason IS NULL) OR p.all_linked AS product_mapped
FROM (
    SELECT
        *,
        CASE sku_reason
            WHEN 1 THEN 'MISSING_SKU'
            WHEN 2 THEN 'DUPLICATE_TIKTOK_SKU'
            WHEN 3 THEN 'SKU_NOT_FOUND'
            WHEN 4 THEN 'DUPLICATE_STORE_SKU'
        END AS sku_code
    FROM sku
) AS k
JOIN final_product AS p ON p.tiktok_product_id = k.tiktok_product_id
