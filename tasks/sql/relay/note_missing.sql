-- An order TikTok's search named but Get Order Detail left out (after a retry): keep it on
-- the re-read list (WAITING; tasks/sql/relay/open_orders.sql) whatever the watermark does.
-- A PENDING, RELAYED or FAILED row keeps its state (those are re-read or final already).
-- $1 id, $2 run id, $3 now, $4 warning
INSERT INTO order_ledger AS l (tiktok_order_id, state, reason, run_id, first_seen_at,
                               updated_at, warning)
VALUES ($1, 'WAITING', 'NOT_READY', $2, $3, $3, $4)
ON CONFLICT (tiktok_order_id) DO UPDATE SET
    state = CASE WHEN l.state IN ('PENDING', 'RELAYED', 'FAILED') THEN l.state ELSE 'WAITING' END,
    run_id = excluded.run_id,
    updated_at = excluded.updated_at,
    warning = excluded.warning
