-- Order ledger: one row per TikTok order skubridge has acted on. Ids and statuses only;
-- buyer names, phones and addresses are never stored here.
CREATE TABLE IF NOT EXISTS order_ledger (
    tiktok_order_id   VARCHAR PRIMARY KEY,
    state             VARCHAR NOT NULL,      -- PENDING | RELAYED | FAILED | SKIPPED
    reason            VARCHAR,
    store_order_id    VARCHAR,
    store_request_id  VARCHAR,               -- idempotency key / sellerFulfillmentOrderId
    lines             JSON,                  -- [{sku_id, seller_sku, quantity}]
    tiktok_status     VARCHAR,
    tiktok_create_time TIMESTAMPTZ,
    attempts          INTEGER NOT NULL DEFAULT 0,
    run_id            VARCHAR,
    first_seen_at     TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL
);

-- Order report (public contract, docs/reports.md), kept per run.
CREATE TABLE IF NOT EXISTS order_report (
    run_id            VARCHAR NOT NULL,
    tiktok_order_id   VARCHAR,
    status            VARCHAR,
    reason            VARCHAR,
    store_order_id    VARCHAR,
    lines             VARCHAR,
    created_at        TIMESTAMPTZ,
    warning           VARCHAR
);
