-- The start of a channel's last accepted extract of any kind, and of its last accepted
-- full one. Parameter: channel.
SELECT
    max(coalesce(e.started_at, s.extracted_at)) AS last_any,
    max(coalesce(e.started_at, s.extracted_at))
        FILTER (WHERE coalesce(e.kind, 'full') = 'full') AS last_full
FROM catalog_snapshots s
LEFT JOIN catalog_extracts e USING (run_id, channel)
WHERE s.channel = $1 AND s.accepted
