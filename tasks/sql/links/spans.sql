-- Every link span of every TikTok SKU (open spans have linked_until NULL).
SELECT tiktok_sku_id, linked_from, linked_until
FROM link_history
ORDER BY tiktok_sku_id, linked_from
