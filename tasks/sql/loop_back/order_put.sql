-- Write one followed order's row whole.
INSERT OR REPLACE INTO loop_back_orders (
    tiktok_order_id, store_order_id, shipping_type, cancel_state, noted, done, run_id, updated_at,
    store_retry
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
