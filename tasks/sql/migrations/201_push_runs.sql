-- One row per push run (plan size and guard verdicts). The mapped-SKU count of the latest
-- accepted real run is the baseline of the "mapped-SKU count drop" guard.
CREATE TABLE IF NOT EXISTS push_runs (
    run_id            VARCHAR PRIMARY KEY,
    shop_id           VARCHAR NOT NULL,
    warehouse_id      VARCHAR,
    mapped_skus       BIGINT NOT NULL,
    price_writes      BIGINT NOT NULL,
    inventory_writes  BIGINT NOT NULL,
    dry_run           BOOLEAN NOT NULL,
    forced            BOOLEAN NOT NULL,
    guards_passed     BOOLEAN NOT NULL,
    mapped_accepted   BOOLEAN NOT NULL,   -- mapped-count guard passed, or forced
    guard_failures    VARCHAR,
    created_at        TIMESTAMPTZ NOT NULL
);

-- The receiving warehouse an inventory ledger row wrote to (needed to confirm a crashed
-- run's PENDING rows against the next catalog).
ALTER TABLE push_ledger ADD COLUMN IF NOT EXISTS warehouse_id VARCHAR;
