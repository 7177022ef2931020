-- Order loop back (tasks/loop_back.py): one row per TikTok order line (one unit) that the
-- loop back acted on, and one row per TikTok order it follows. Ids, SKUs, tracking and
-- states only; never buyer data.
CREATE TABLE IF NOT EXISTS loop_back_lines (
    tiktok_order_id      VARCHAR NOT NULL,
    tiktok_line_id       VARCHAR NOT NULL,
    sku_id               VARCHAR,
    store_order_id       VARCHAR,
    ship_state           VARCHAR,       -- IN_FLIGHT | SHIPPED | REJECTED
    store_shipment_id    VARCHAR,       -- Shopify fulfilment GID / MCF shipment/package
    package_id           VARCHAR,
    tracking_number      VARCHAR,
    carrier              VARCHAR,
    shipping_provider_id VARCHAR,
    shipped_at           TIMESTAMPTZ,
    corrections_used     INTEGER NOT NULL DEFAULT 0,
    cancel_state         VARCHAR,       -- CANCELLED_IN_STORE | STORE_ALREADY_FULFILLED | STORE_REJECTED
    mfn_sku              VARCHAR,       -- the merchant-fulfilled store SKU this unit lowered
    mfn_state            VARCHAR,       -- LOWERING | LOWERED | RESTORING | RESTORED
    mfn_target           INTEGER,       -- the absolute quantity being written (a rerun writes it again)
    error                VARCHAR,
    run_id               VARCHAR,
    updated_at           TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tiktok_order_id, tiktok_line_id)
);

CREATE TABLE IF NOT EXISTS loop_back_orders (
    tiktok_order_id  VARCHAR PRIMARY KEY,
    store_order_id   VARCHAR,
    shipping_type    VARCHAR,
    cancel_state     VARCHAR,           -- CANCELLED_IN_STORE | STORE_ALREADY_FULFILLED | CANCEL_PENDING
    noted            VARCHAR,           -- reasons reported once (TIKTOK_SHIPPING)
    done             BOOLEAN NOT NULL DEFAULT false,
    run_id           VARCHAR,
    updated_at       TIMESTAMPTZ NOT NULL
);

-- Fulfilment report (public contract, docs/reports.md), kept per run.
CREATE TABLE IF NOT EXISTS fulfilment_report (
    run_id                       VARCHAR NOT NULL,
    tiktok_order_id              VARCHAR,
    store_order_id               VARCHAR,
    action                       VARCHAR,
    status                       VARCHAR,
    reason                       VARCHAR,
    lines                        VARCHAR,
    tracking_number              VARCHAR,
    carrier                      VARCHAR,
    tiktok_shipping_provider_id  VARCHAR,
    detail                       VARCHAR
);
