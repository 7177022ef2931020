-- A stock-only change set (Amazon: FBA inventory changed since, without the listings
-- report): each staged row takes everything but its stock from the accepted row of the
-- same SKU. Parameters: run_id, channel.
UPDATE staged_variants AS s SET
    product_id = c.product_id,
    title = c.title,
    variant_title = c.variant_title,
    options = c.options,
    price = c.price,
    currency = c.currency,
    barcode = c.barcode,
    status = c.status,
    fulfillment = c.fulfillment,
    parent_id = c.parent_id
FROM catalog_variants AS c
WHERE s.run_id = $1 AND s.channel = $2 AND c.channel = $2 AND c.variant_id = s.variant_id
