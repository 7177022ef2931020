-- Store variants with the same normalised barcode as a failed TikTok SKU (kind 2).
SELECT t.tiktok_sku_id, s.variant_id, s.bc AS barcode, s.linked, 2 AS kind, 100.0 AS score
FROM sugg_t AS t
JOIN sugg_s AS s ON s.bc = t.bc
WHERE t.bc <> ''
