-- Every cached product: id, the update_time it was read at, its SKU objects (JSON text).
SELECT product_id, update_time, CAST(skus AS VARCHAR) FROM tiktok_product_attributes
