-- Advance (never move back) a watermark. $1 name, $2 value, $3 now
INSERT INTO watermarks AS w (name, value, updated_at) VALUES ($1, $2, $3)
ON CONFLICT (name) DO UPDATE SET
    value = greatest(w.value, excluded.value),
    updated_at = excluded.updated_at
