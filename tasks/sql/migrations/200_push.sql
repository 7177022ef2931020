-- Push ledger: every write attempt to TikTok with before/after values.
CREATE TABLE IF NOT EXISTS push_ledger (
    run_id            VARCHAR NOT NULL,
    tiktok_product_id VARCHAR NOT NULL,
    tiktok_sku_id     VARCHAR NOT NULL,
    field             VARCHAR NOT NULL,      -- price | inventory
    old               VARCHAR,
    new               VARCHAR,
    status            VARCHAR NOT NULL,      -- PENDING | UPDATED | REJECTED | FAILED | BLOCKED_BY_GUARD
    error             VARCHAR,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, tiktok_sku_id, field)
);

-- Push report (public contract, docs/reports.md), kept per run.
CREATE TABLE IF NOT EXISTS push_report (
    run_id            VARCHAR NOT NULL,
    tiktok_product_id VARCHAR,
    tiktok_sku_id     VARCHAR,
    field             VARCHAR,
    old               VARCHAR,
    new               VARCHAR,
    status            VARCHAR,               -- UPDATED | UNCHANGED | REJECTED | BLOCKED_BY_GUARD
    error             VARCHAR
);
