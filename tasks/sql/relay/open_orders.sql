-- Orders to read again whatever the watermark says: waiting for a mapping or a
-- shippable status, a create whose answer was lost, or a store rejection still to retry.
-- $1 = oldest TikTok create time still worth a look, $2 = max store attempts.
SELECT tiktok_order_id
FROM order_ledger
WHERE (state IN ('WAITING', 'PENDING') OR (state = 'FAILED' AND attempts < $2))
  AND (tiktok_create_time IS NULL OR tiktok_create_time >= $1 OR state = 'PENDING')
ORDER BY tiktok_order_id
