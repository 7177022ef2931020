-- Auto-map, step 4: bring `mappings` in line with the classification and log the changes.
-- Variables: map_run_id, map_now.

-- Auto links as they are against auto links as the classification makes them, in one
-- join: a row with no new side is a link to drop, a row with no old side a link to make.
CREATE OR REPLACE TEMP TABLE map_auto_diff AS
SELECT
    m.tiktok_sku_id AS old_sku_id,
    m.tiktok_product_id AS old_product_id,
    m.store_variant_id AS old_variant_id,
    m.seller_sku AS old_seller_sku,
    r.tiktok_sku_id,
    r.tiktok_product_id,
    r.seller_sku,
    r.store_product_id,
    r.store_variant_id,
    r.store_sku
FROM (SELECT * FROM mappings WHERE method = 'auto') AS m
FULL OUTER JOIN (SELECT * FROM map_result WHERE method = 'auto') AS r
    ON r.tiktok_sku_id = m.tiktok_sku_id AND r.store_variant_id = m.store_variant_id
WHERE m.tiktok_sku_id IS NULL OR r.tiktok_sku_id IS NULL;

-- Auto links the classification no longer makes are dropped, with the first reason that
-- explains it: a side vanished, a seller SKU changed on either side, the product is now
-- mapped by hand / to another variant, or the auto rules no longer hold (its reason code).
INSERT INTO map_dropped
SELECT
    d.old_sku_id,
    d.old_product_id,
    d.old_variant_id,
    'auto',
    CASE
        WHEN t.tiktok_sku_id IS NULL THEN 'TIKTOK_SKU_GONE'
        WHEN s.store_variant_id IS NULL THEN 'STORE_VARIANT_GONE'
        WHEN t.seller_sku IS DISTINCT FROM d.old_seller_sku
            OR s.seller_sku IS DISTINCT FROM d.old_seller_sku THEN 'SKU_CHANGED'
        WHEN r.method IN ('manual', 'csv') THEN 'REPLACED_BY_' || upper(r.method)
        WHEN r.method = 'auto' THEN 'RELINKED'
        ELSE coalesce(r.reason, 'UNMAPPED')
    END
FROM map_auto_diff AS d
LEFT JOIN map_result AS r ON r.tiktok_sku_id = d.old_sku_id
LEFT JOIN map_tiktok AS t ON t.tiktok_sku_id = d.old_sku_id
LEFT JOIN map_store AS s ON s.store_variant_id = d.old_variant_id
WHERE d.tiktok_sku_id IS NULL;

INSERT INTO mapping_events
    (event_at, run_id, tiktok_sku_id, tiktok_product_id, store_variant_id, event, method, reason)
SELECT
    getvariable('map_now'), getvariable('map_run_id'), tiktok_sku_id, tiktok_product_id,
    store_variant_id, 'dropped', method, reason
FROM map_dropped;

DELETE FROM mappings WHERE tiktok_sku_id IN (SELECT tiktok_sku_id FROM map_dropped);

-- New links, straight from the diff (no second copy of ~1M rows on a first run).
INSERT INTO mappings
    (tiktok_sku_id, tiktok_product_id, seller_sku, store_product_id, store_variant_id, method,
     mapped_at, run_id, store_sku)
SELECT
    tiktok_sku_id, tiktok_product_id, seller_sku, store_product_id, store_variant_id, 'auto',
    getvariable('map_now'), getvariable('map_run_id'), store_sku
FROM map_auto_diff
WHERE old_sku_id IS NULL;

INSERT INTO mapping_events
    (event_at, run_id, tiktok_sku_id, tiktok_product_id, store_variant_id, event, method, reason)
SELECT
    getvariable('map_now'), getvariable('map_run_id'), tiktok_sku_id, tiktok_product_id,
    store_variant_id, 'linked', 'auto', NULL
FROM map_auto_diff
WHERE old_sku_id IS NULL;

-- Why each unmapped TikTok SKU is unmapped, as of this run (mapped ones are in `mappings`),
-- for the report and for search.
DELETE FROM mapping_state;
INSERT INTO mapping_state
SELECT
    getvariable('map_run_id'), tiktok_product_id, tiktok_sku_id, seller_sku, reason, method,
    store_product_id, store_variant_id
FROM map_result
WHERE reason IS NOT NULL;
