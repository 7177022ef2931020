-- Unmap by hand: log the dropped links, delete them, and remember the SKUs so auto-map does
-- not link them again. Variables: unmap_now, unmap_run_id; temp table unmap_links.
INSERT INTO mapping_events
    (event_at, run_id, tiktok_sku_id, tiktok_product_id, store_variant_id, event, method, reason)
SELECT getvariable('unmap_now'), getvariable('unmap_run_id'), tiktok_sku_id,
       tiktok_product_id, store_variant_id, 'dropped', method, 'UNMAPPED_BY_HAND'
FROM unmap_links;

DELETE FROM mappings WHERE tiktok_sku_id IN (SELECT tiktok_sku_id FROM unmap_links);

INSERT OR REPLACE INTO hand_unmapped (tiktok_sku_id, tiktok_product_id, unmapped_at, run_id)
SELECT tiktok_sku_id, tiktok_product_id, getvariable('unmap_now'), getvariable('unmap_run_id')
FROM unmap_links;
