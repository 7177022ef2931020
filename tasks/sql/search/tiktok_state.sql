-- Mapping state of the given TikTok products: links held, and the reasons of the unlinked
-- SKUs from the latest classification.
SELECT t.product_id,
       count(*) AS skus,
       count(m.tiktok_sku_id) AS mapped,
       string_agg(DISTINCT m.store_product_id, ', ') AS mapped_to,
       string_agg(DISTINCT m.method, ', ') AS methods,
       list(DISTINCT coalesce(s.reason, 'UNMAPPED')) FILTER (WHERE m.tiktok_sku_id IS NULL)
           AS reasons,
       count(s.tiktok_sku_id) + count(m.tiktok_sku_id) AS classified
FROM catalog_variants AS t
LEFT JOIN mappings AS m ON m.tiktok_sku_id = t.variant_id
LEFT JOIN mapping_state AS s ON s.tiktok_sku_id = t.variant_id
WHERE t.channel = 'tiktok' AND t.product_id IN (SELECT unnest(?))
GROUP BY ALL
