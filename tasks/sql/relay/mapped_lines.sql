-- Every mapped TikTok SKU with its store variant, when it was mapped, and the store
-- side's SKU and fulfilment (Amazon FBA | MFN) from the accepted catalog.
-- $1 = store channel ('shopify' | 'amazon').
WITH store AS (
    SELECT variant_id,
           arg_max(seller_sku, extracted_at)  AS store_sku,
           arg_max(fulfillment, extracted_at) AS fulfillment
    FROM catalog_variants
    WHERE channel = $1
    GROUP BY variant_id
)
SELECT m.tiktok_sku_id,
       m.store_variant_id,
       m.seller_sku,
       m.mapped_at,
       s.store_sku,
       s.fulfillment
FROM mappings AS m
LEFT JOIN store AS s ON s.variant_id = m.store_variant_id
