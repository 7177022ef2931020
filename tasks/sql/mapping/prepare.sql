-- Auto-map, step 1: the two accepted catalogs reduced to what matching needs.
-- Variables: map_store_channel ('shopify' | 'amazon').
-- map_tiktok and map_store are views: classification reads each once in full, the link
-- checks read them only for the few links they look at. trow (the catalog row id) is an
-- integer handle on a TikTok row for the one-row-per-product flag of the classification.
-- A seller SKU that is NULL, empty or only whitespace (incl. Unicode spaces, zero-width
-- space, BOM) is missing; otherwise SKUs compare byte for byte.

CREATE OR REPLACE TEMP VIEW map_tiktok AS
SELECT
    rowid AS trow,
    product_id AS tiktok_product_id,
    variant_id AS tiktok_sku_id,
    seller_sku,
    CASE
        WHEN seller_sku IS NULL OR seller_sku = '' THEN NULL
        -- the regex runs only for values that start with a space-like character
        WHEN (ascii(seller_sku) <= 32 OR ascii(seller_sku) IN (133, 160, 5760, 12288, 65279)
              OR ascii(seller_sku) BETWEEN 8192 AND 8287)
            AND regexp_full_match(seller_sku, '[\s\p{Z}\x{200B}-\x{200D}\x{2060}\x{FEFF}]*')
            THEN NULL
        ELSE seller_sku
    END AS sku
FROM catalog_variants
WHERE channel = 'tiktok' AND variant_id IS NOT NULL AND product_id IS NOT NULL;

-- Store variants. family: the variant family auto-map compares against: the Shopify
-- product; on Amazon the parent ASIN, NULL for a standalone listing (no parent).
-- store_product_id: what the report shows: the family, or the standalone listing's product.
CREATE OR REPLACE TEMP VIEW map_store AS
SELECT
    variant_id AS store_variant_id,
    CASE
        WHEN getvariable('map_store_channel') = 'amazon' THEN nullif(trim(parent_id), '')
        ELSE product_id
    END AS family,
    CASE
        WHEN getvariable('map_store_channel') = 'amazon'
            THEN coalesce(nullif(trim(parent_id), ''), product_id)
        ELSE product_id
    END AS store_product_id,
    seller_sku,
    CASE
        WHEN seller_sku IS NULL OR seller_sku = '' THEN NULL
        WHEN (ascii(seller_sku) <= 32 OR ascii(seller_sku) IN (133, 160, 5760, 12288, 65279)
              OR ascii(seller_sku) BETWEEN 8192 AND 8287)
            AND regexp_full_match(seller_sku, '[\s\p{Z}\x{200B}-\x{200D}\x{2060}\x{FEFF}]*')
            THEN NULL
        ELSE seller_sku
    END AS sku
FROM catalog_variants
WHERE channel = getvariable('map_store_channel') AND variant_id IS NOT NULL;
