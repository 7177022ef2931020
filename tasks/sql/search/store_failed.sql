-- TikTok products whose SKUs match the given store products but failed to map, and why.
SELECT s.store_product_id AS product_id,
       string_agg(DISTINCT s.tiktok_product_id, ', ') AS tiktok,
       list(DISTINCT s.reason) AS reasons
FROM mapping_state AS s
ANTI JOIN mappings AS m ON m.tiktok_sku_id = s.tiktok_sku_id
WHERE s.store_product_id IN (SELECT unnest(?)) AND s.reason IS NOT NULL
GROUP BY ALL
