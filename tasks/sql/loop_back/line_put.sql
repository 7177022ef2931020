-- Write one loop-back line row whole (the runner holds the shop's file: one writer).
INSERT OR REPLACE INTO loop_back_lines (
    tiktok_order_id, tiktok_line_id, sku_id, store_order_id, ship_state, store_shipment_id,
    package_id, tracking_number, carrier, shipping_provider_id, shipped_at, corrections_used,
    cancel_state, mfn_sku, mfn_state, mfn_target, error, run_id, updated_at
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
