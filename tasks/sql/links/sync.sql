-- Bring link_history in line with `mappings` as it is now. Variables: links_now.
-- 1. A SKU linked without an open span opens one at its link's mapped_at.
INSERT INTO link_history (tiktok_sku_id, linked_from)
SELECT m.tiktok_sku_id, m.mapped_at
FROM mappings AS m
WHERE NOT EXISTS (
    SELECT 1 FROM link_history AS h
    WHERE h.tiktok_sku_id = m.tiktok_sku_id AND h.linked_until IS NULL
);

-- 2. An open span reaches back at least to its current link's mapped_at (a link made
-- earlier than the span says, e.g. restored from a backup, widens it; never narrows).
UPDATE link_history AS h
SET linked_from = m.mapped_at
FROM mappings AS m
WHERE h.tiktok_sku_id = m.tiktok_sku_id AND h.linked_until IS NULL
  AND m.mapped_at < h.linked_from;

-- 3. An open span whose SKU has no link any more ends now, with the reason the audit
-- trail gives for its last drop.
UPDATE link_history AS h
SET linked_until = getvariable('links_now'),
    end_reason = coalesce((
        SELECT arg_max(e.reason, e.event_at) FROM mapping_events AS e
        WHERE e.tiktok_sku_id = h.tiktok_sku_id AND e.event = 'dropped'
    ), 'UNMAPPED')
WHERE h.linked_until IS NULL
  AND NOT EXISTS (SELECT 1 FROM mappings AS m WHERE m.tiktok_sku_id = h.tiktok_sku_id);
