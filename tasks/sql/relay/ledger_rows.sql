-- Ledger rows of the given TikTok order ids ($1 = VARCHAR[]).
SELECT tiktok_order_id, state, reason, store_order_id, store_request_id, attempts,
       attempted_at, run_id, tiktok_create_time
FROM order_ledger
WHERE list_contains($1, tiktok_order_id)
