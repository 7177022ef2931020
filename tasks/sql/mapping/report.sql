-- The mapping report (DESIGN.md public contract), one row per TikTok SKU of the latest
-- classification, with the links as they are now (a manual map after the auto-map shows).
-- Unmapped rows keep the unique exact-SKU store match (if any) in store_product_id /
-- store_variant_id as a diagnostic; `status` is what says whether a SKU is mapped.
SELECT
    s.tiktok_product_id,
    s.tiktok_sku_id,
    s.seller_sku,
    CASE WHEN m.tiktok_sku_id IS NOT NULL THEN 'mapped' ELSE 'unmapped' END AS status,
    CASE WHEN m.tiktok_sku_id IS NULL THEN coalesce(s.reason, 'UNMAPPED') END AS reason,
    m.method,
    coalesce(m.store_product_id, s.store_product_id) AS store_product_id,
    coalesce(m.store_variant_id, s.store_variant_id) AS store_variant_id
FROM mapping_state AS s
LEFT JOIN mappings AS m ON m.tiktok_sku_id = s.tiktok_sku_id
ORDER BY s.tiktok_product_id, s.tiktok_sku_id
