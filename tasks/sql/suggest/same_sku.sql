-- Store variants whose seller SKU normalises like a failed TikTok SKU's (kind 1).
SELECT t.tiktok_sku_id, t.seller_sku AS t_sku, s.variant_id, s.seller_sku AS s_sku,
       s.linked, 1 AS kind, 100.0 AS score
FROM sugg_t AS t
JOIN sugg_s AS s ON s.norm = t.norm
WHERE t.norm <> ''
