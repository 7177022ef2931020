-- Claim a never-seen order for a create: PENDING with the store request id, written
-- (and committed) before the create call. Fails on the primary key if another run won.
-- $1 id, $2 request id, $3 lines JSON, $4 tiktok status, $5 create time, $6 run id,
-- $7 now, $8 warning
INSERT INTO order_ledger (tiktok_order_id, state, reason, store_request_id, lines,
                          tiktok_status, tiktok_create_time, attempts, run_id,
                          first_seen_at, updated_at, attempted_at, warning)
VALUES ($1, 'PENDING', NULL, $2, $3, $4, $5, 1, $6, $7, $7, $7, $8)
