-- TikTok products with at least one linked SKU: they need no suggestion, so their cached
-- attributes are kept when only their update_time moved (a price or stock write moves it).
SELECT DISTINCT tiktok_product_id FROM mappings
