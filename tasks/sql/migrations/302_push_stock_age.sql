-- Push report: how old the store catalog behind the pushed values was, in seconds, when the
-- push ran (a push never writes stock older than the shop's stock_rule.max_age_minutes).
ALTER TABLE push_report ADD COLUMN IF NOT EXISTS stock_age_seconds DOUBLE;
