-- Store variants of one channel (parameter 1) with their comparison text and whether a
-- link already holds them (linked variants rank after unlinked ones).
SELECT c.variant_id, c.seller_sku, c.barcode,
       concat_ws(' ', c.title, c.variant_title,
                 array_to_string(json_extract_string(c.options, '$.*'), ' ')) AS text,
       m.store_variant_id IS NOT NULL AS linked
FROM catalog_variants AS c
LEFT JOIN (SELECT DISTINCT store_variant_id FROM mappings) AS m
    ON m.store_variant_id = c.variant_id
WHERE c.channel = ? AND c.variant_id IS NOT NULL
