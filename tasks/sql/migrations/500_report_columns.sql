-- Mapping report columns added at the end (docs/reports.md): both sides' titles and option
-- values, and the suggestion as columns a CSV map file can be made from.
ALTER TABLE mapping_report ADD COLUMN IF NOT EXISTS tiktok_title VARCHAR;
ALTER TABLE mapping_report ADD COLUMN IF NOT EXISTS tiktok_options VARCHAR;
ALTER TABLE mapping_report ADD COLUMN IF NOT EXISTS store_title VARCHAR;
ALTER TABLE mapping_report ADD COLUMN IF NOT EXISTS store_options VARCHAR;
ALTER TABLE mapping_report ADD COLUMN IF NOT EXISTS suggested_store_variant_id VARCHAR;
ALTER TABLE mapping_report ADD COLUMN IF NOT EXISTS suggested_store_sku VARCHAR;
ALTER TABLE mapping_report ADD COLUMN IF NOT EXISTS suggestion_basis VARCHAR;

-- The newest run of each report: what docs and scripts read (the tables keep history).
-- "Newest" is by the run record's start; the push view skips dry runs.
CREATE OR REPLACE VIEW mapping_report_latest AS
SELECT * FROM mapping_report
WHERE run_id = (
    SELECT t.run_id FROM (SELECT DISTINCT run_id FROM mapping_report) AS t
    LEFT JOIN runs AS r USING (run_id)
    ORDER BY r.started_at DESC NULLS LAST, t.run_id DESC
    LIMIT 1
);

CREATE OR REPLACE VIEW push_report_latest AS
SELECT * FROM push_report
WHERE run_id = (
    SELECT t.run_id FROM (SELECT DISTINCT run_id FROM push_report) AS t
    LEFT JOIN runs AS r USING (run_id)
    WHERE t.run_id NOT IN (SELECT run_id FROM push_runs WHERE dry_run)
    ORDER BY r.started_at DESC NULLS LAST, t.run_id DESC
    LIMIT 1
);

CREATE OR REPLACE VIEW order_report_latest AS
SELECT * FROM order_report
WHERE run_id = (
    SELECT t.run_id FROM (SELECT DISTINCT run_id FROM order_report) AS t
    LEFT JOIN runs AS r USING (run_id)
    ORDER BY r.started_at DESC NULLS LAST, t.run_id DESC
    LIMIT 1
);
