-- How each side of a catalog run was read: 'full' (the whole catalog, replaces the
-- accepted one) or 'incremental' (what changed since `since`, merged into the accepted
-- one). `started_at` is when the extract began: the next incremental extract asks for
-- changes since the last accepted one's start (minus an overlap). Runs from before this
-- table have no row here and count as full.
CREATE TABLE IF NOT EXISTS catalog_extracts (
    run_id        VARCHAR NOT NULL,
    channel       VARCHAR NOT NULL,
    kind          VARCHAR NOT NULL,          -- full | incremental
    since         TIMESTAMPTZ,               -- incremental: changes since this time
    started_at    TIMESTAMPTZ NOT NULL,
    reason        VARCHAR,                   -- why this kind was chosen
    PRIMARY KEY (run_id, channel)
);
