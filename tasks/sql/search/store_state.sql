-- TikTok products linked to the given store products, and how.
SELECT store_product_id AS product_id,
       string_agg(DISTINCT tiktok_product_id, ', ') AS mapped_from,
       string_agg(DISTINCT method, ', ') AS methods
FROM mappings WHERE store_product_id IN (SELECT unnest(?)) GROUP BY ALL
