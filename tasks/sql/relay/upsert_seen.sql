-- Record an order's classification without a store call. Never touches a row that is
-- PENDING or RELAYED (those change only through claim/complete).
-- $1 id, $2 state, $3 reason, $4 lines JSON, $5 tiktok status, $6 create time,
-- $7 run id, $8 now, $9 warning, $10 error
INSERT INTO order_ledger AS l (tiktok_order_id, state, reason, lines, tiktok_status,
                               tiktok_create_time, run_id, first_seen_at, updated_at,
                               warning, error)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10)
ON CONFLICT (tiktok_order_id) DO UPDATE SET
    state = CASE WHEN l.state IN ('PENDING', 'RELAYED') THEN l.state ELSE excluded.state END,
    reason = CASE WHEN l.state IN ('PENDING', 'RELAYED') THEN l.reason ELSE excluded.reason END,
    lines = excluded.lines,
    tiktok_status = excluded.tiktok_status,
    tiktok_create_time = excluded.tiktok_create_time,
    run_id = excluded.run_id,
    updated_at = excluded.updated_at,
    warning = excluded.warning,
    error = CASE WHEN l.state IN ('PENDING', 'RELAYED') THEN l.error ELSE excluded.error END
