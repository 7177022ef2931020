-- Stock and price rule arithmetic as DuckDB macros; the same rules as tasks/rules.py
-- (tests/tasks/test_rules.py runs both on one table). Temporary: defined per connection.

-- Store stock through the stock rule: minus the absolute buffer, minus the percent buffer
-- of what is left (held-back units rounded down), 0 below the threshold, clamped to
-- [0, min(max_quantity, 99999)] (TikTok takes 0..99,999:
-- https://partner.tiktokshop.com/docv2/page/6503068fc20ad60284b38858).
CREATE OR REPLACE TEMP MACRO sb_after_buffer(available, buffer_absolute) AS
    greatest(greatest(coalesce(CAST(available AS BIGINT), 0), 0) - buffer_absolute, 0);

CREATE OR REPLACE TEMP MACRO sb_after_percent(quantity, buffer_percent) AS
    quantity - CAST(floor(quantity * CAST(buffer_percent AS DECIMAL(12, 6)) * 0.01) AS BIGINT);

CREATE OR REPLACE TEMP MACRO sb_zero_below(quantity, zero_below) AS
    CASE WHEN quantity < zero_below THEN 0 ELSE quantity END;

CREATE OR REPLACE TEMP MACRO sb_desired_stock(
    available, buffer_absolute, buffer_percent, zero_below, max_quantity
) AS
    CAST(least(
        greatest(
            sb_zero_below(
                sb_after_percent(sb_after_buffer(available, buffer_absolute), buffer_percent),
                zero_below
            ),
            0
        ),
        least(max_quantity, 99999)
    ) AS BIGINT);

-- Store price through the price rule: percent markup, then fixed markup, then rounding.
-- round() on DECIMAL rounds half away from zero (Python ROUND_HALF_UP).
CREATE OR REPLACE TEMP MACRO sb_marked_up(price, markup_percent, markup_fixed) AS
    CAST(price AS DECIMAL(18, 4)) * (100 + CAST(markup_percent AS DECIMAL(12, 4))) * 0.01
    + CAST(markup_fixed AS DECIMAL(18, 4));

-- Nearest price ending in (1 - gap), e.g. gap 0.01 -> x.99; never 0 or below.
CREATE OR REPLACE TEMP MACRO sb_ending(value, gap) AS
    CASE WHEN round(value + gap, 0) - gap <= 0 THEN round(value + gap, 0) - gap + 1
         ELSE round(value + gap, 0) - gap END;

CREATE OR REPLACE TEMP MACRO sb_round_price(value, rounding) AS
    CAST(CASE rounding
        WHEN 'cent' THEN round(value, 2)
        WHEN 'whole' THEN round(value, 0)
        WHEN 'end_99' THEN sb_ending(value, 0.01)
        WHEN 'end_95' THEN sb_ending(value, 0.05)
    END AS DECIMAL(18, 2));

CREATE OR REPLACE TEMP MACRO sb_desired_price(price, markup_percent, markup_fixed, rounding) AS
    sb_round_price(sb_marked_up(price, markup_percent, markup_fixed), rounding);

-- Which rule gives a TikTok SKU its stock, the first that applies: an override ('skip' or
-- a quantity), a Shopify variant whose inventory is not tracked, one that keeps selling
-- when out of stock (inventoryPolicy CONTINUE), else the stock rule. A NULL quantity for
-- untracked/continue-selling means "store": the stock rule applies.
CREATE OR REPLACE TEMP MACRO sb_stock_rule(
    stock_override, tracked, inventory_policy, untracked_quantity, continue_selling_quantity
) AS
    CASE WHEN stock_override = 'skip' THEN 'skipped'
         WHEN stock_override IS NOT NULL THEN 'override'
         WHEN tracked = false AND untracked_quantity IS NOT NULL THEN 'untracked'
         WHEN coalesce(tracked, true) AND inventory_policy = 'CONTINUE'
              AND continue_selling_quantity IS NOT NULL THEN 'continue_selling'
         ELSE 'stock' END;

-- The quantity that rule publishes on one TikTok warehouse; `available` is the store stock
-- summed over the locations feeding that warehouse (buffers apply after the sum). NULL for
-- 'skipped' (nothing is written).
CREATE OR REPLACE TEMP MACRO sb_rule_stock(
    rule, stock_override, untracked_quantity, continue_selling_quantity,
    available, buffer_absolute, buffer_percent, zero_below, max_quantity
) AS
    CAST(CASE rule
        WHEN 'skipped' THEN NULL
        WHEN 'override' THEN least(greatest(TRY_CAST(stock_override AS BIGINT), 0), 99999)
        WHEN 'untracked' THEN least(untracked_quantity, 99999)
        WHEN 'continue_selling' THEN least(continue_selling_quantity, 99999)
        ELSE sb_desired_stock(available, buffer_absolute, buffer_percent, zero_below,
                              max_quantity)
    END AS BIGINT);
