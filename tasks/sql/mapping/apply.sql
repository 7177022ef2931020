-- Auto-map, step 4: bring `mappings` in line with the classification and log the changes.
-- Variables: map_run_id, map_now.

-- Auto links the classification no longer makes are dropped, with the first reason that
-- explains it: a side vanished, a seller SKU changed on either side, the product is now
-- mapped by hand / to another variant, or the auto rules no longer hold (its reason code).
INSERT INTO map_dropped
WITH gone AS (
    SELECT m.*, r.method AS new_method, r.reason AS new_reason
    FROM mappings AS m
    LEFT JOIN map_result AS r ON r.tiktok_sku_id = m.tiktok_sku_id
    WHERE m.method = 'auto'
      AND (r.method IS DISTINCT FROM 'auto'
           OR r.store_variant_id IS DISTINCT FROM m.store_variant_id)
)
SELECT
    g.tiktok_sku_id,
    g.tiktok_product_id,
    g.store_variant_id,
    g.method,
    CASE
        WHEN t.tiktok_sku_id IS NULL THEN 'TIKTOK_SKU_GONE'
        WHEN s.store_variant_id IS NULL THEN 'STORE_VARIANT_GONE'
        WHEN t.seller_sku IS DISTINCT FROM g.seller_sku
            OR s.seller_sku IS DISTINCT FROM g.seller_sku THEN 'SKU_CHANGED'
        WHEN g.new_method IN ('manual', 'csv') THEN 'REPLACED_BY_' || upper(g.new_method)
        WHEN g.new_method = 'auto' THEN 'RELINKED'
        ELSE coalesce(g.new_reason, 'UNMAPPED')
    END AS reason
FROM gone AS g
LEFT JOIN map_tiktok AS t ON t.tiktok_sku_id = g.tiktok_sku_id
LEFT JOIN map_store AS s ON s.store_variant_id = g.store_variant_id;

INSERT INTO mapping_events
    (event_at, run_id, tiktok_sku_id, tiktok_product_id, store_variant_id, event, method, reason)
SELECT
    getvariable('map_now'), getvariable('map_run_id'), tiktok_sku_id, tiktok_product_id,
    store_variant_id, 'dropped', method, reason
FROM map_dropped;

DELETE FROM mappings WHERE tiktok_sku_id IN (SELECT tiktok_sku_id FROM map_dropped);

CREATE OR REPLACE TEMP TABLE map_linked AS
SELECT r.*
FROM map_result AS r
ANTI JOIN mappings AS m ON m.tiktok_sku_id = r.tiktok_sku_id
WHERE r.method = 'auto';

INSERT INTO mappings
    (tiktok_sku_id, tiktok_product_id, seller_sku, store_product_id, store_variant_id, method,
     mapped_at, run_id, store_sku)
SELECT
    tiktok_sku_id, tiktok_product_id, seller_sku, store_product_id, store_variant_id, 'auto',
    getvariable('map_now'), getvariable('map_run_id'), store_sku
FROM map_linked;

INSERT INTO mapping_events
    (event_at, run_id, tiktok_sku_id, tiktok_product_id, store_variant_id, event, method, reason)
SELECT
    getvariable('map_now'), getvariable('map_run_id'), tiktok_sku_id, tiktok_product_id,
    store_variant_id, 'linked', 'auto', NULL
FROM map_linked;

-- Why each unmapped TikTok SKU is unmapped, as of this run (mapped ones are in `mappings`),
-- for the report and for search.
DELETE FROM mapping_state;
INSERT INTO mapping_state
SELECT
    getvariable('map_run_id'), tiktok_product_id, tiktok_sku_id, seller_sku, reason, method,
    store_product_id, store_variant_id
FROM map_result
WHERE reason IS NOT NULL;
