-- Title and option values ("Name: value, ...") of the given store variants (mapping report).
SELECT
    c.variant_id,
    nullif(concat_ws(' - ', c.title, nullif(c.variant_title, '')), '') AS store_title,
    (SELECT string_agg(o.key || ': ' || (o.value ->> '$'), ', ') FROM json_each(c.options) AS o)
        AS store_options
FROM catalog_variants AS c
WHERE c.channel = ? AND c.variant_id = ANY(?)
