-- Link history: when each TikTok SKU was linked to some store variant, one row per
-- unbroken span (a relink to another variant continues the span; an unmap or a dropped
-- link ends it, a later link opens a new one). The relay judges an order historical
-- (BEFORE_MAPPING) only if one of its SKUs had no span covering the order's creation.
CREATE TABLE IF NOT EXISTS link_history (
    tiktok_sku_id  VARCHAR NOT NULL,
    linked_from    TIMESTAMPTZ NOT NULL,
    linked_until   TIMESTAMPTZ,              -- NULL: still linked
    end_reason     VARCHAR                   -- why the span ended (dropped link reason, UNMAPPED)
);

-- Existing warehouses: one open span per current link, from the earliest time the audit
-- trail saw the SKU linked (mapped_at is reset by a relink; mapping_events is not).
INSERT INTO link_history (tiktok_sku_id, linked_from)
SELECT m.tiktok_sku_id, least(m.mapped_at, coalesce(e.first_linked, m.mapped_at))
FROM mappings AS m
LEFT JOIN (
    SELECT tiktok_sku_id, min(event_at) AS first_linked
    FROM mapping_events
    WHERE event = 'linked'
    GROUP BY tiktok_sku_id
) AS e ON e.tiktok_sku_id = m.tiktok_sku_id;
