-- Replace the cache entries of the products in the registered frame `_attributes`.
DELETE FROM tiktok_product_attributes
WHERE product_id IN (SELECT product_id FROM _attributes);
INSERT INTO tiktok_product_attributes BY NAME
SELECT product_id, update_time, CAST(skus AS JSON) AS skus, fetched_at, run_id FROM _attributes;
