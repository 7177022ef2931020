-- The mapping report (public contract, docs/reports.md), one row per TikTok SKU of the accepted
-- catalog: mapped rows from `mappings` (as they are now, so a manual map after the auto-map shows),
-- unmapped rows with their reason from `mapping_state` (the latest auto-map). Unmapped rows keep
-- the unique exact-SKU store match (if any) in store_product_id / store_variant_id as a diagnostic;
-- `status` is what says whether a SKU is mapped. A SKU that arrived after the latest auto-map has
-- no classification yet: reason UNMAPPED.
SELECT
    t.product_id AS tiktok_product_id,
    t.variant_id AS tiktok_sku_id,
    t.seller_sku,
    CASE WHEN m.tiktok_sku_id IS NOT NULL THEN 'mapped' ELSE 'unmapped' END AS status,
    CASE WHEN m.tiktok_sku_id IS NULL THEN coalesce(s.reason, 'UNMAPPED') END AS reason,
    m.method,
    coalesce(m.store_product_id, s.store_product_id) AS store_product_id,
    coalesce(m.store_variant_id, s.store_variant_id) AS store_variant_id
FROM catalog_variants AS t
LEFT JOIN mappings AS m ON m.tiktok_sku_id = t.variant_id
LEFT JOIN mapping_state AS s ON s.tiktok_sku_id = t.variant_id
WHERE t.channel = 'tiktok' AND t.variant_id IS NOT NULL AND t.product_id IS NOT NULL
ORDER BY t.product_id, t.variant_id
