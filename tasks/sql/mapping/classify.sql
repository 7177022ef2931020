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
-- The unmapped reason codes, named here only, with their precedence: a product gets the
-- first that applies (lowest precedence), each SKU its own. 1-4 are SKU-level reasons,
-- 5-7 product-level ones (the reason table of docs/reports.md, in its order). The rules
-- below yield a precedence; the final query joins this table for the code.
reason_code(precedence, code) AS (
    VALUES
        (1, 'MISSING_SKU'),
        (2, 'DUPLICATE_TIKTOK_SKU'),
        (3, 'SKU_NOT_FOUND'),
        (4, 'DUPLICATE_STORE_SKU'),
        (5, 'SPLIT_ACROSS_PRODUCTS'),
        (6, 'VARIANT_COUNT_MISMATCH'),
        (7, 'STORE_PRODUCT_TAKEN')
),
-- One row per store SKU: how many variants carry it and, when exactly one, which. The
-- report's store product is the family or (standalone Amazon listing, no family) the
-- listing's product, so only family-less rows carry product_id (on Shopify none do).
store_sku AS (
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
duplicated_tiktok_sku AS (
    SELECT sku FROM map_tiktok WHERE sku IS NOT NULL GROUP BY sku HAVING count(*) > 1
),
-- Variants per family (the "number of variants" of a store product).
store_family AS (
    SELECT family, count(*) AS family_size FROM map_store WHERE family IS NOT NULL GROUP BY family
),
-- SKU level: the precedence of the SKU's own reason (1-4 of reason_code), its unique exact
-- store match when there is one, and its manual/csv link if it keeps one.
sku_state AS MATERIALIZED (
    SELECT
        tiktok.trow,
        tiktok.tiktok_product_id,
        tiktok.tiktok_sku_id,
        tiktok.seller_sku,
        CASE
            WHEN tiktok.sku IS NULL THEN 1  -- MISSING_SKU
            WHEN duplicated.sku IS NOT NULL THEN 2  -- DUPLICATE_TIKTOK_SKU
            WHEN store.sku IS NULL THEN 3  -- SKU_NOT_FOUND
            WHEN store.sku_count > 1 THEN 4  -- DUPLICATE_STORE_SKU
        END AS sku_precedence,
        CASE WHEN store.sku_count = 1 THEN store.store_variant_id END AS match_variant_id,
        CASE WHEN store.sku_count = 1 THEN coalesce(store.family, store.product_id) END
            AS match_product_id,
        CASE WHEN store.sku_count = 1 THEN store.family END AS match_family,
        CASE WHEN store.sku_count = 1 THEN family.family_size END AS match_family_size,
        CASE WHEN store.sku_count = 1 THEN tiktok.sku END AS match_sku,
        link.tiktok_sku_id IS NOT NULL AS has_link,
        link.method AS link_method,
        link.store_product_id AS link_product_id,
        link.store_variant_id AS link_variant_id,
        link.store_sku AS link_sku
    FROM map_tiktok AS tiktok
    LEFT JOIN store_sku AS store ON store.sku = tiktok.sku
    LEFT JOIN store_family AS family ON family.family = store.family
    LEFT JOIN duplicated_tiktok_sku AS duplicated ON duplicated.sku = tiktok.sku
    LEFT JOIN map_fixed AS link ON link.tiktok_sku_id = tiktok.tiktok_sku_id
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
-- Per TikTok product: its SKU counts, its first SKU-level reason, the families its SKUs
-- match and whether another TikTok product holds one of its matches.
product_summary AS (
    SELECT
        sku.tiktok_product_id,
        min(sku.trow) AS head,
        count(*) AS n_tiktok,
        count(*) FILTER (WHERE sku.has_link) AS n_linked,
        min(sku.sku_precedence) AS first_sku_precedence,
        min(sku.match_family) AS family_min,
        max(sku.match_family) AS family_max,
        count(sku.match_family) AS family_rows,
        max(sku.match_family_size) AS family_size,
        bool_or(
            (tv.store_variant_id IS NOT NULL
                AND (tv.p_min <> sku.tiktok_product_id OR tv.p_max <> sku.tiktok_product_id))
            OR (tp.store_product_id IS NOT NULL
                AND (tp.p_min <> sku.tiktok_product_id OR tp.p_max <> sku.tiktok_product_id))
        ) AS taken
    FROM sku_state AS sku
    LEFT JOIN taken_variant AS tv ON tv.store_variant_id = sku.match_variant_id
    LEFT JOIN taken_product AS tp ON tp.store_product_id = sku.match_product_id
    GROUP BY sku.tiktok_product_id
),
-- Product level: the precedence of the first reason that applies (reason_code order).
product_state AS MATERIALIZED (
    SELECT
        summary.tiktok_product_id,
        summary.head,
        summary.n_tiktok,
        summary.n_linked,
        summary.family_min AS target,
        fixed.tiktok_product_id IS NOT NULL AS fixed,
        CASE
            WHEN summary.first_sku_precedence IS NOT NULL THEN summary.first_sku_precedence
            -- several families, or (Amazon) parented and standalone listings mixed
            WHEN summary.family_min <> summary.family_max
                OR (summary.family_rows > 0 AND summary.family_rows < summary.n_tiktok)
                THEN 5  -- SPLIT_ACROSS_PRODUCTS
            -- one family; all-standalone Amazon products (family_rows = 0) skip this rule
            WHEN summary.family_rows > 0 AND summary.family_size <> summary.n_tiktok
                THEN 6  -- VARIANT_COUNT_MISMATCH
            WHEN summary.taken THEN 7  -- STORE_PRODUCT_TAKEN
        END AS precedence
    FROM product_summary AS summary
    LEFT JOIN (SELECT DISTINCT tiktok_product_id FROM map_fixed) AS fixed
        ON fixed.tiktok_product_id = summary.tiktok_product_id
),
-- Same-run competition for one store product (cannot arise while SKUs are unique on both
-- sides, kept as a guard): the product already auto-linked to it wins, else the lowest
-- TikTok product id (string order); the others get STORE_PRODUCT_TAKEN. Only products
-- mapping to one family can compete: a standalone Amazon listing carries a unique SKU, so
-- it matches one TikTok SKU at most.
candidate AS (
    SELECT tiktok_product_id, target
    FROM product_state
    WHERE precedence IS NULL AND NOT fixed AND target IS NOT NULL
),
contested AS MATERIALIZED (
    SELECT candidate.tiktok_product_id, candidate.target
    FROM candidate
    SEMI JOIN (
        SELECT target FROM candidate
        GROUP BY target HAVING min(tiktok_product_id) <> max(tiktok_product_id)
    ) AS shared_target ON shared_target.target = candidate.target
),
incumbent AS (
    SELECT DISTINCT m.tiktok_product_id, m.store_product_id
    FROM mappings AS m
    SEMI JOIN contested AS c
        ON c.tiktok_product_id = m.tiktok_product_id AND c.target = m.store_product_id
    WHERE m.method = 'auto'
),
contender AS (
    SELECT
        c.tiktok_product_id,
        c.target,
        i.tiktok_product_id IS NOT NULL AS incumbent
    FROM contested AS c
    LEFT JOIN incumbent AS i
        ON i.tiktok_product_id = c.tiktok_product_id AND i.store_product_id = c.target
),
winner AS (
    SELECT
        target,
        coalesce(
            min(tiktok_product_id) FILTER (WHERE incumbent), min(tiktok_product_id)
        ) AS tiktok_product_id
    FROM contender
    GROUP BY target
),
loser AS (
    SELECT DISTINCT contender.tiktok_product_id
    FROM contender JOIN winner ON winner.target = contender.target
    WHERE winner.tiktok_product_id <> contender.tiktok_product_id
),
product_outcome AS (
    SELECT
        product.tiktok_product_id,
        product.head,
        product.fixed,
        reason.code AS reason,
        product.n_linked = product.n_tiktok AS all_linked
    FROM product_state AS product
    LEFT JOIN loser ON loser.tiktok_product_id = product.tiktok_product_id
    LEFT JOIN reason_code AS reason
        ON reason.precedence = CASE
            WHEN loser.tiktok_product_id IS NOT NULL THEN 7  -- STORE_PRODUCT_TAKEN
            ELSE product.precedence
        END
)
-- Final state per TikTok SKU. A SKU with its own SKU-level reason carries it; the other
-- SKUs of an unmapped product carry the product's reason. SKUs of a manually mapped
-- product that have no link of their own: their SKU-level reason, else
-- VARIANT_COUNT_MISMATCH (the product has more variants than were mapped).
SELECT
    sku.tiktok_product_id,
    sku.tiktok_sku_id,
    sku.seller_sku,
    CASE
        WHEN sku.has_link THEN NULL
        WHEN product.fixed THEN coalesce(sku_reason.code, variant_count_mismatch.code)
        WHEN product.reason IS NULL THEN NULL
        ELSE coalesce(sku_reason.code, product.reason)
    END AS reason,
    CASE
        WHEN sku.has_link THEN sku.link_method
        WHEN NOT product.fixed AND product.reason IS NULL THEN 'auto'
    END AS method,
    CASE WHEN sku.has_link THEN sku.link_product_id ELSE sku.match_product_id END
        AS store_product_id,
    CASE WHEN sku.has_link THEN sku.link_variant_id ELSE sku.match_variant_id END
        AS store_variant_id,
    CASE WHEN sku.has_link THEN sku.link_sku ELSE sku.match_sku END AS store_sku,
    product.reason AS product_reason,
    sku.trow = product.head AS product_head,
    (NOT product.fixed AND product.reason IS NULL) OR product.all_linked AS product_mapped
FROM sku_state AS sku
JOIN product_outcome AS product ON product.tiktok_product_id = sku.tiktok_product_id
LEFT JOIN reason_code AS sku_reason ON sku_reason.precedence = sku.sku_precedence
CROSS JOIN (SELECT code FROM reason_code WHERE precedence = 6) AS variant_count_mismatch
