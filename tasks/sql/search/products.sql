-- Every product of TikTok and of one store channel (parameter 1) with its variants, SKUs and
-- option values. Amazon store products are families (parent ASIN) or standalone listings.
SELECT
    CASE WHEN channel = 'tiktok' THEN 'tiktok' ELSE 'store' END AS side,
    CASE WHEN channel = 'amazon' THEN coalesce(nullif(trim(parent_id), ''), product_id)
         ELSE product_id END AS product_id,
    any_value(title) AS title,
    count(*) AS variants,
    list(seller_sku ORDER BY variant_id) AS skus,
    list(variant_id ORDER BY variant_id) AS variant_ids,
    concat_ws(' ',
        string_agg(DISTINCT variant_title, ' '),
        string_agg(DISTINCT array_to_string(json_extract_string(options, '$.*'), ' '), ' ')
    ) AS options
FROM catalog_variants
WHERE channel IN ('tiktok', ?) AND product_id IS NOT NULL
GROUP BY ALL
