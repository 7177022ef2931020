-- Candidate pairs for the title + options match: words shared between a failed TikTok SKU
-- (sugg_t) and store variants (sugg_s), counted per pair. Only rare words block (a word on
-- more than $max_df store variants, like "shirt", says little); at most $max_candidates
-- pairs per TikTok SKU. SKUs that already have a normalised-SKU match are left out.
WITH
tiktok_word AS (
    SELECT DISTINCT tiktok_sku_id, unnest(string_split(words, ' ')) AS word FROM sugg_t
),
store_word AS (
    SELECT DISTINCT variant_id, unnest(string_split(words, ' ')) AS word FROM sugg_s
),
rare_word AS (
    SELECT word FROM store_word
    WHERE length(word) >= 2
    GROUP BY word HAVING count(*) <= $max_df
),
shared_words AS (
    SELECT tiktok_word.tiktok_sku_id, store_word.variant_id, count(*) AS shared
    FROM tiktok_word
    JOIN rare_word ON rare_word.word = tiktok_word.word
    JOIN store_word ON store_word.word = tiktok_word.word
    GROUP BY ALL
),
best_pair AS (
    SELECT tiktok_sku_id, variant_id FROM shared_words
    QUALIFY row_number() OVER (PARTITION BY tiktok_sku_id ORDER BY shared DESC, variant_id)
        <= $max_candidates
)
SELECT pair.tiktok_sku_id, pair.variant_id, t.text AS t_text, s.text AS s_text, s.linked
FROM best_pair AS pair
JOIN sugg_t AS t USING (tiktok_sku_id)
JOIN sugg_s AS s USING (variant_id)
WHERE t.tiktok_sku_id NOT IN (
    SELECT tiktok_sku_id FROM sugg_t
    WHERE norm <> '' AND norm IN (SELECT norm FROM sugg_s)
)
