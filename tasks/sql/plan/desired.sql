-- Desired TikTok price and stock for every mapped TikTok SKU, next to TikTok's current
-- values, with what differs. Needs the macros of plan/rules.sql.
-- Parameters: $store ('shopify' | 'amazon'), $locations (VARCHAR[]: Shopify locations
-- feeding stock, empty = all), $warehouse_id (receiving TikTok warehouse),
-- $tiktok_currency (fallback when a TikTok row has none), stock and price rule knobs.
WITH tiktok AS (
    SELECT variant_id AS tiktok_sku_id, product_id AS tiktok_product_id, price,
           coalesce(currency, $tiktok_currency) AS currency, status
    FROM catalog_variants
    WHERE channel = 'tiktok'
),
store AS (
    SELECT variant_id, price, currency, fulfillment
    FROM catalog_variants
    WHERE channel = $store
),
-- Shopify: available stock summed over the configured locations (all when none given).
-- Amazon: FBA listings follow the fulfillable quantity ('FBA'), MFN ones the listing
-- quantity ('MFN').
store_stock AS (
    SELECT s.variant_id, sum(s.quantity) AS available
    FROM catalog_stock AS s
    JOIN store AS v ON v.variant_id = s.variant_id
    WHERE s.channel = $store
      AND CASE WHEN $store = 'amazon' THEN s.location_id = coalesce(v.fulfillment, 'MFN')
               ELSE len($locations::VARCHAR[]) = 0
                    OR list_contains($locations::VARCHAR[], s.location_id) END
    GROUP BY s.variant_id
),
-- Every warehouse of a TikTok SKU with its current quantity: an inventory update must
-- list them all (https://partner.tiktokshop.com/docv2/page/6503068fc20ad60284b38858).
tiktok_stock AS (
    SELECT variant_id AS tiktok_sku_id,
           max(quantity) FILTER (WHERE location_id = $warehouse_id) AS current_stock,
           bool_or(location_id = $warehouse_id) AS has_warehouse,
           list({'warehouse_id': location_id, 'quantity': quantity} ORDER BY location_id)
               AS warehouses
    FROM catalog_stock
    WHERE channel = 'tiktok'
    GROUP BY variant_id
),
desired AS (
    SELECT
        t.tiktok_product_id,
        m.tiktok_sku_id,
        m.store_variant_id,
        t.status AS tiktok_status,
        t.price AS current_price,
        t.currency AS tiktok_currency,
        v.price AS store_price,
        v.currency AS store_currency,
        -- A non-positive store price (tolerated by the catalog checks) is never pushed.
        CASE WHEN v.price > 0
            THEN sb_desired_price(v.price, $markup_percent, $markup_fixed, $rounding)
        END AS desired_price,
        ts.current_stock,
        coalesce(ss.available, 0) AS store_stock,
        -- Amazon: every listing has a stock row (MFN quantity or FBA fulfillable) unless
        -- getInventorySummaries left the FBA SKU out; then its stock is unknown.
        ($store <> 'amazon' OR ss.variant_id IS NOT NULL) AS store_stock_known,
        sb_desired_stock(ss.available, $buffer_absolute, $buffer_percent, $zero_below,
                         $max_quantity) AS desired_stock,
        coalesce(ts.has_warehouse, false) AS has_warehouse,
        coalesce(ts.warehouses, []) AS warehouses,
        -- Never converted: a store price in another currency is blocked (docs/reports.md).
        coalesce(upper(v.currency) = upper(t.currency), false) AS currency_ok
    FROM mappings AS m
    JOIN tiktok AS t ON t.tiktok_sku_id = m.tiktok_sku_id
    JOIN store AS v ON v.variant_id = m.store_variant_id
    LEFT JOIN store_stock AS ss ON ss.variant_id = m.store_variant_id
    LEFT JOIN tiktok_stock AS ts ON ts.tiktok_sku_id = m.tiktok_sku_id
)
SELECT
    *,
    desired_price IS NOT NULL AND desired_price IS DISTINCT FROM current_price AS price_changed,
    desired_stock IS DISTINCT FROM current_stock AS stock_changed
FROM desired
ORDER BY tiktok_product_id, tiktok_sku_id
