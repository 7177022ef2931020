-- Orders the loop back still follows: relayed ones (fulfilment, cancellation) and any
-- order with a line of a merchant-fulfilled (MFN) store SKU (stock), not finished yet.
-- $1 = oldest TikTok create time still followed, $2 = store channel.
WITH mfn AS (
    SELECT m.tiktok_sku_id
    FROM mappings AS m
    JOIN (
        SELECT variant_id, arg_max(fulfillment, extracted_at) AS fulfillment
        FROM catalog_variants
        WHERE channel = $2
        GROUP BY variant_id
    ) AS s ON s.variant_id = m.store_variant_id
    WHERE s.fulfillment = 'MFN'
)
SELECT l.tiktok_order_id, l.store_order_id, l.state
FROM order_ledger AS l
LEFT JOIN loop_back_orders AS o USING (tiktok_order_id)
WHERE NOT coalesce(o.done, false)
  AND (l.tiktok_create_time IS NULL OR l.tiktok_create_time >= $1)
  AND (
      (l.state = 'RELAYED' AND l.store_order_id IS NOT NULL)
      OR EXISTS (
          SELECT 1
          FROM (SELECT unnest(CAST(l.lines AS JSON[])) AS line) AS x
          WHERE json_extract_string(x.line, '$.sku_id') IN (SELECT tiktok_sku_id FROM mfn)
      )
  )
ORDER BY l.tiktok_order_id
