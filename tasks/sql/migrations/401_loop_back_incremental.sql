-- Incremental store reads of the order loop back (tasks/loop_back.py): the loop back reads
-- in the store only the orders changed since its last run (minus an overlap), the ones a
-- previous read left unfinished (store_retry), and everything on a periodic full re-read.
ALTER TABLE loop_back_orders ADD COLUMN IF NOT EXISTS store_retry BOOLEAN DEFAULT false;

CREATE TABLE IF NOT EXISTS loop_back_watermark (
    id               INTEGER PRIMARY KEY,  -- always 1: one watermark per shop file
    read_from        TIMESTAMPTZ NOT NULL, -- start of the last run whose store reads all succeeded
    full_at          TIMESTAMPTZ NOT NULL, -- start of the last full re-read
    runs_since_full  INTEGER NOT NULL DEFAULT 0
);
