-- Desired TikTok price and stock for every mapped TikTok SKU, next to TikTok's current
-- values, with what differs and which rule produced each value. Needs the macros of
-- plan/rules.sql.
-- Parameters: $store ('shopify' | 'amazon'); $locations (VARCHAR[]: Shopify locations
-- feeding stock when there is no location map, empty = all); $warehouse_id (receiving
-- TikTok warehouse when there is no location map); $map_locations / $map_warehouses
-- (VARCHAR[] pairs: store location -> TikTok warehouse, empty = no map);
-- $untracked_quantity / $continue_selling_quantity (BIGINT, NULL = "store");
-- overrides as VARCHAR[] columns $ov_kind, $ov_key, $ov_stock ('skip' | N | NULL),
-- $ov_price ('skip' | price | NULL); $tiktok_currency (fallback when a TikTok row has
-- none); stock and price rule knobs.
WITH tiktok AS (
    SELECT variant_id AS tiktok_sku_id, product_id AS tiktok_product_id, seller_sku, price,
           coalesce(currency, $tiktok_currency) AS currency, status
    FROM catalog_variants
    WHERE channel = 'tiktok'
),
store AS (
    SELECT variant_id, price, currency, fulfillment, tracked, inventory_policy
    FROM catalog_variants
    WHERE channel = $store
),
location_map AS (
    SELECT unnest($map_locations::VARCHAR[]) AS location_id,
           unnest($map_warehouses::VARCHAR[]) AS warehouse_id
),
-- The TikTok warehouses the store's stock feeds: the mapped ones, else the receiving one.
targets AS (
    SELECT DISTINCT warehouse_id FROM location_map
    UNION ALL
    SELECT $warehouse_id WHERE len($map_locations::VARCHAR[]) = 0
),
-- Store stock summed per TikTok warehouse over the locations feeding it. Shopify: the
-- mapped locations (unmapped ones are ignored), else the configured ones (all when none
-- given). Amazon: FBA listings follow the fulfillable quantity ('FBA'), MFN ones the
-- listing quantity ('MFN').
store_stock AS (
    SELECT s.variant_id,
           coalesce(lm.warehouse_id, $warehouse_id) AS warehouse_id,
           sum(s.quantity) AS available
    FROM catalog_stock AS s
    JOIN store AS v ON v.variant_id = s.variant_id
    LEFT JOIN location_map AS lm ON lm.location_id = s.location_id
    WHERE s.channel = $store
      AND ($store <> 'amazon' OR s.location_id = coalesce(v.fulfillment, 'MFN'))
      AND CASE WHEN len($map_locations::VARCHAR[]) > 0 THEN lm.warehouse_id IS NOT NULL
               WHEN $store = 'amazon' THEN true
               ELSE len($locations::VARCHAR[]) = 0
                    OR list_contains($locations::VARCHAR[], s.location_id) END
    GROUP BY ALL
),
overrides AS (
    SELECT unnest($ov_kind::VARCHAR[]) AS kind, unnest($ov_key::VARCHAR[]) AS key,
           unnest($ov_stock::VARCHAR[]) AS stock, unnest($ov_price::VARCHAR[]) AS price
),
-- Per TikTok SKU and field, the most specific override that sets the field: SKU id, then
-- seller SKU, then product id.
sku_overrides AS (
    SELECT tiktok_sku_id,
           arg_min(stock, rank) FILTER (WHERE stock IS NOT NULL) AS stock_override,
           arg_min(price, rank) FILTER (WHERE price IS NOT NULL) AS price_override
    FROM (
        -- three equi-joins (one per key kind) rather than one join on an OR
        SELECT t.tiktok_sku_id, o.stock, o.price, 1 AS rank
        FROM tiktok AS t JOIN overrides AS o
          ON o.kind = 'tiktok_sku_id' AND o.key = t.tiktok_sku_id
        UNION ALL
        SELECT t.tiktok_sku_id, o.stock, o.price, 2 AS rank
        FROM tiktok AS t JOIN overrides AS o
          ON o.kind = 'seller_sku' AND o.key = t.seller_sku
        UNION ALL
        SELECT t.tiktok_sku_id, o.stock, o.price, 3 AS rank
        FROM tiktok AS t JOIN overrides AS o
          ON o.kind = 'tiktok_product_id' AND o.key = t.tiktok_product_id
    )
    GROUP BY tiktok_sku_id
),
-- Store variants with a stock row for their own fulfillment channel (Amazon: 'FBA' or
-- 'MFN'; location map or not).
store_known AS (
    SELECT DISTINCT s.variant_id
    FROM catalog_stock AS s
    JOIN store AS v ON v.variant_id = s.variant_id
    WHERE s.channel = $store AND s.location_id = coalesce(v.fulfillment, 'MFN')
),
-- Every warehouse of a TikTok SKU with its current quantity: an inventory update must
-- list them all (https://partner.tiktokshop.com/docv2/page/6503068fc20ad60284b38858).
tiktok_stock AS (
    SELECT variant_id AS tiktok_sku_id,
           list({'warehouse_id': location_id, 'quantity': quantity} ORDER BY location_id)
               AS warehouses
    FROM catalog_stock
    WHERE channel = 'tiktok'
    GROUP BY variant_id
),
-- One row per mapped SKU and target warehouse: the rule and the quantity it publishes.
per_warehouse AS (
    SELECT
        m.tiktok_sku_id,
        tw.warehouse_id,
        cur.quantity AS current,
        cur.variant_id IS NOT NULL AS on_sku,
        coalesce(ss.available, 0) AS available,
        sb_stock_rule(so.stock_override, v.tracked, v.inventory_policy,
                      $untracked_quantity, $continue_selling_quantity) AS stock_rule,
        sb_rule_stock(
            sb_stock_rule(so.stock_override, v.tracked, v.inventory_policy,
                          $untracked_quantity, $continue_selling_quantity),
            so.stock_override, $untracked_quantity, $continue_selling_quantity,
            ss.available, $buffer_absolute, $buffer_percent, $zero_below, $max_quantity
        ) AS desired
    FROM mappings AS m
    JOIN store AS v ON v.variant_id = m.store_variant_id
    CROSS JOIN targets AS tw
    LEFT JOIN store_stock AS ss
      ON ss.variant_id = m.store_variant_id AND ss.warehouse_id = tw.warehouse_id
    LEFT JOIN catalog_stock AS cur
      ON cur.channel = 'tiktok' AND cur.variant_id = m.tiktok_sku_id
     AND cur.location_id = tw.warehouse_id
    LEFT JOIN sku_overrides AS so ON so.tiktok_sku_id = m.tiktok_sku_id
),
per_sku AS (
    SELECT
        tiktok_sku_id,
        any_value(stock_rule) AS stock_rule,
        sum(current) AS current_stock,
        sum(available) AS store_stock,
        sum(desired) AS desired_stock,
        bool_and(on_sku) AS has_warehouse,
        list({'warehouse_id': warehouse_id, 'quantity': desired} ORDER BY warehouse_id)
            AS targets,
        coalesce(list(warehouse_id ORDER BY warehouse_id) FILTER (WHERE NOT on_sku), [])
            AS missing_warehouses,
        bool_or(desired IS DISTINCT FROM current) AS stock_differs
    FROM per_warehouse
    GROUP BY tiktok_sku_id
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
        CASE WHEN so.price_override = 'skip' THEN 'skipped'
             WHEN so.price_override IS NOT NULL THEN 'override'
             ELSE 'price' END AS price_rule,
        -- A non-positive store price (tolerated by the catalog checks) is never pushed; an
        -- override price is TikTok's own (no markup, no rounding).
        CASE WHEN so.price_override = 'skip' THEN NULL
             WHEN so.price_override IS NOT NULL
                 THEN CAST(TRY_CAST(so.price_override AS DECIMAL(18, 4)) AS DECIMAL(18, 2))
             WHEN v.price > 0
                 THEN sb_desired_price(v.price, $markup_percent, $markup_fixed, $rounding)
        END AS desired_price,
        ps.stock_rule,
        ps.current_stock,
        coalesce(ps.store_stock, 0) AS store_stock,
        -- A skipped SKU keeps its current stock: neither zero nor moved for the guards.
        coalesce(ps.desired_stock, ps.current_stock, 0) AS desired_stock,
        coalesce(ps.has_warehouse, false) AS has_warehouse,
        ps.targets,
        ps.missing_warehouses,
        -- Amazon: every listing has a stock row (MFN quantity or FBA fulfillable) unless
        -- getInventorySummaries left the FBA SKU out; then its stock is unknown.
        ($store <> 'amazon' OR sk.variant_id IS NOT NULL) AS store_stock_known,
        coalesce(ts.warehouses, []) AS warehouses,
        -- Never converted: a store price in another currency is blocked (docs/reports.md);
        -- an override (value or skip) does not use the store price.
        so.price_override IS NOT NULL
            OR coalesce(upper(v.currency) = upper(t.currency), false) AS currency_ok,
        ps.stock_rule <> 'skipped' AND ps.stock_differs AS stock_changed
    FROM mappings AS m
    JOIN tiktok AS t ON t.tiktok_sku_id = m.tiktok_sku_id
    JOIN store AS v ON v.variant_id = m.store_variant_id
    JOIN per_sku AS ps ON ps.tiktok_sku_id = m.tiktok_sku_id
    LEFT JOIN tiktok_stock AS ts ON ts.tiktok_sku_id = m.tiktok_sku_id
    LEFT JOIN sku_overrides AS so ON so.tiktok_sku_id = m.tiktok_sku_id
    LEFT JOIN store_known AS sk ON sk.variant_id = m.store_variant_id
)
SELECT
    *,
    desired_price IS NOT NULL AND desired_price IS DISTINCT FROM current_price AS price_changed
FROM desired
ORDER BY tiktok_product_id, tiktok_sku_id
