-- Auto-map, step 2: manual and csv links that no longer hold. Such a link is dropped when
-- its TikTok SKU or its store variant left the catalog, or when the store variant's SKU is
-- no longer the one recorded with the link (store_sku; older rows: seller_sku). It is never
-- dropped because the auto rules would not have made it.
CREATE OR REPLACE TEMP TABLE map_dropped AS
SELECT
    m.tiktok_sku_id,
    m.tiktok_product_id,
    m.store_variant_id,
    m.method,
    CASE
        WHEN t.tiktok_sku_id IS NULL THEN 'TIKTOK_SKU_GONE'
        WHEN s.store_variant_id IS NULL THEN 'STORE_VARIANT_GONE'
        ELSE 'SKU_CHANGED'
    END AS reason
FROM mappings AS m
LEFT JOIN map_tiktok AS t ON t.tiktok_sku_id = m.tiktok_sku_id
LEFT JOIN map_store AS s ON s.store_variant_id = m.store_variant_id
WHERE m.method <> 'auto'
  AND (
      t.tiktok_sku_id IS NULL
      OR s.store_variant_id IS NULL
      OR s.seller_sku IS DISTINCT FROM coalesce(m.store_sku, m.seller_sku)
  );

-- The manual/csv links that stay: they fix their TikTok product and take their store side.
CREATE OR REPLACE TEMP TABLE map_fixed AS
SELECT m.*
FROM mappings AS m
ANTI JOIN map_dropped AS d ON d.tiktok_sku_id = m.tiktok_sku_id
WHERE m.method <> 'auto';
