-- TikTok product titles of the accepted catalog (for the unmapped-products table).
SELECT product_id, any_value(title) AS title
FROM catalog_variants
WHERE channel = 'tiktok'
GROUP BY product_id
