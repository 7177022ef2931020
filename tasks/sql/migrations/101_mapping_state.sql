-- Mapping stage additions (additive; 100_mapping.sql is unchanged).
-- store_sku: the store variant's seller SKU when the link was made or last confirmed.
-- For manual/csv links "SKU changed" means the store variant's SKU is no longer this value
-- (on Amazon it differs from the TikTok seller SKU, which cannot be written there).
ALTER TABLE mappings ADD COLUMN IF NOT EXISTS store_sku VARCHAR;

-- Why each unmapped TikTok SKU is unmapped, per the latest auto-map run (replaced each run;
-- mapped SKUs are in `mappings`): build_mapping_report and search read the reasons here.
CREATE TABLE IF NOT EXISTS mapping_state (
    run_id            VARCHAR,
    tiktok_product_id VARCHAR,
    tiktok_sku_id     VARCHAR,
    seller_sku        VARCHAR,
    reason            VARCHAR,
    method            VARCHAR,
    store_product_id  VARCHAR,
    store_variant_id  VARCHAR
);
