-- Auto-map, step 3b: SKUs a person unmapped keep no auto link (tasks/unmap.py). Manual and
-- CSV links are a person's own choice and stay.
UPDATE map_result
SET reason = 'UNMAPPED_BY_HAND', method = NULL, store_product_id = NULL,
    store_variant_id = NULL, store_sku = NULL, product_reason = 'UNMAPPED_BY_HAND',
    product_mapped = false
WHERE (method = 'auto' OR method IS NULL)
  AND tiktok_sku_id IN (SELECT tiktok_sku_id FROM hand_unmapped);
