-- TikTok SKUs a person unmapped (`skubridge unmap`, the map-product deployment's unmap):
-- auto-map does not link them again by SKU (reason UNMAPPED_BY_HAND in the mapping report)
-- until they are mapped by hand or CSV, which is how a person says "link this".
CREATE TABLE IF NOT EXISTS hand_unmapped (
    tiktok_sku_id     VARCHAR PRIMARY KEY,
    tiktok_product_id VARCHAR,
    unmapped_at       TIMESTAMPTZ NOT NULL,
    run_id            VARCHAR
);
