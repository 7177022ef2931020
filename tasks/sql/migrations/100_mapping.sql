-- Mappings: one row per linked TikTok SKU. A TikTok product is linked to exactly one
-- store product; each of its SKUs to one store variant.
CREATE TABLE IF NOT EXISTS mappings (
    tiktok_sku_id     VARCHAR PRIMARY KEY,
    tiktok_product_id VARCHAR NOT NULL,
    seller_sku        VARCHAR,
    store_product_id  VARCHAR NOT NULL,
    store_variant_id  VARCHAR NOT NULL,
    method            VARCHAR NOT NULL,      -- auto | manual | csv
    mapped_at         TIMESTAMPTZ NOT NULL,  -- first time this link was made
    run_id            VARCHAR
);

-- What happened to links over time (made, dropped and why): the audit trail.
CREATE TABLE IF NOT EXISTS mapping_events (
    event_at          TIMESTAMPTZ NOT NULL,
    run_id            VARCHAR,
    tiktok_sku_id     VARCHAR NOT NULL,
    tiktok_product_id VARCHAR,
    store_variant_id  VARCHAR,
    event             VARCHAR NOT NULL,      -- linked | dropped
    method            VARCHAR,
    reason            VARCHAR
);

-- Mapping report (public contract, docs/reports.md), kept per run.
CREATE TABLE IF NOT EXISTS mapping_report (
    run_id            VARCHAR NOT NULL,
    tiktok_product_id VARCHAR,
    tiktok_sku_id     VARCHAR,
    seller_sku        VARCHAR,
    status            VARCHAR NOT NULL,      -- mapped | unmapped
    reason            VARCHAR,
    method            VARCHAR,
    store_product_id  VARCHAR,
    store_variant_id  VARCHAR,
    suggestion        VARCHAR
);
