-- TikTok SKUs of the latest classification with a SKU-level failure that a suggestion can
-- help (no link of their own), with the text the fuzzy match compares.
SELECT s.tiktok_sku_id, s.reason, c.seller_sku, c.barcode,
       concat_ws(' ', c.title, c.variant_title,
                 array_to_string(json_extract_string(c.options, '$.*'), ' ')) AS text
FROM mapping_state AS s
JOIN catalog_variants AS c ON c.channel = 'tiktok' AND c.variant_id = s.tiktok_sku_id
ANTI JOIN mappings AS m ON m.tiktok_sku_id = s.tiktok_sku_id
WHERE s.reason IN ('MISSING_SKU', 'SKU_NOT_FOUND', 'DUPLICATE_STORE_SKU')
