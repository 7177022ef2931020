-- The mapping report (public contract, docs/reports.md), one row per TikTok SKU of the accepted
-- catalog: mapped rows from `mappings` (as they are now, so a manual map after the auto-map shows),
-- unmapped rows with their reason from `mapping_state` (the latest auto-map). Store ids are set on
-- mapped rows only (`status` and the ids agree); the store title/options are the mapped variant's.
-- `same_sku_variant_id`: on an unmapped row, the unique store variant with exactly this SKU (a
-- diagnostic that build_mapping_report moves into the suggestion columns, not a report column).
-- A SKU that arrived after the latest auto-map has no classification yet: reason UNMAPPED.
-- Option values read "Name: value, Name: value" in the catalog's order.
SELECT
    t.product_id AS tiktok_product_id,
    t.variant_id AS tiktok_sku_id,
    t.seller_sku,
    CASE WHEN m.tiktok_sku_id IS NOT NULL THEN 'mapped' ELSE 'unmapped' END AS status,
    CASE WHEN m.tiktok_sku_id IS NULL THEN coalesce(s.reason, 'UNMAPPED') END AS reason,
    m.method,
    m.store_product_id,
    m.store_variant_id,
    nullif(concat_ws(' - ', t.title, nullif(t.variant_title, '')), '') AS tiktok_title,
    (SELECT string_agg(o.key || ': ' || (o.value ->> '$'), ', ') FROM json_each(t.options) AS o)
        AS tiktok_options,
    nullif(concat_ws(' - ', sv.title, nullif(sv.variant_title, '')), '') AS store_title,
    (SELECT string_agg(o.key || ': ' || (o.value ->> '$'), ', ') FROM json_each(sv.options) AS o)
        AS store_options,
    CASE WHEN m.tiktok_sku_id IS NULL THEN s.store_variant_id END AS same_sku_variant_id
FROM catalog_variants AS t
LEFT JOIN mappings AS m ON m.tiktok_sku_id = t.variant_id
LEFT JOIN mapping_state AS s ON s.tiktok_sku_id = t.variant_id
LEFT JOIN catalog_variants AS sv
    ON sv.channel = $store_channel AND sv.variant_id = m.store_variant_id
WHERE t.channel = 'tiktok' AND t.variant_id IS NOT NULL AND t.product_id IS NOT NULL
ORDER BY t.product_id, t.variant_id
