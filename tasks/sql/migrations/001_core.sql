-- Core tables: runs, catalog snapshots (staged and accepted), watermarks.
-- One row per variant and channel: channel is 'tiktok', 'shopify' or 'amazon'.

CREATE TABLE IF NOT EXISTS runs (
    run_id        VARCHAR PRIMARY KEY,
    flow          VARCHAR NOT NULL,
    shop_id       VARCHAR NOT NULL,
    started_at    TIMESTAMPTZ NOT NULL,
    finished_at   TIMESTAMPTZ,
    status        VARCHAR NOT NULL,          -- RUNNING | COMPLETED | FAILED
    failed_step   VARCHAR,
    error         VARCHAR,
    report_dir    VARCHAR,
    summary       JSON
);

-- Variants as extracted by the run that produced them. `staged_variants` holds the
-- extract under check; only after the catalog checks pass is it promoted into
-- `catalog_variants` (so a broken extract never replaces a good catalog).
CREATE TABLE IF NOT EXISTS staged_variants (
    run_id        VARCHAR NOT NULL,
    channel       VARCHAR NOT NULL,
    product_id    VARCHAR,
    variant_id    VARCHAR,
    seller_sku    VARCHAR,
    title         VARCHAR,
    variant_title VARCHAR,
    options       JSON,
    price         DECIMAL(18, 4),
    currency      VARCHAR,
    quantity      BIGINT,                   -- sum over locations / warehouses
    barcode       VARCHAR,
    status        VARCHAR,
    fulfillment   VARCHAR,                  -- FBA | MFN for amazon, NULL elsewhere
    parent_id     VARCHAR,                  -- amazon parent ASIN where known
    extracted_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS staged_stock (
    run_id        VARCHAR NOT NULL,
    channel       VARCHAR NOT NULL,
    variant_id    VARCHAR NOT NULL,
    location_id   VARCHAR NOT NULL,         -- Shopify location / TikTok warehouse / 'FBA' / 'MFN'
    quantity      BIGINT
);

CREATE TABLE IF NOT EXISTS catalog_variants AS SELECT * FROM staged_variants WITH NO DATA;
CREATE TABLE IF NOT EXISTS catalog_stock AS SELECT * FROM staged_stock WITH NO DATA;

-- One row per accepted or rejected extract: the size history the "collapsed catalog"
-- check compares against.
CREATE TABLE IF NOT EXISTS catalog_snapshots (
    run_id        VARCHAR NOT NULL,
    channel       VARCHAR NOT NULL,
    products      BIGINT NOT NULL,
    variants      BIGINT NOT NULL,
    accepted      BOOLEAN NOT NULL,
    reason        VARCHAR,
    extracted_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, channel)
);

CREATE TABLE IF NOT EXISTS watermarks (
    name          VARCHAR PRIMARY KEY,
    value         TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
