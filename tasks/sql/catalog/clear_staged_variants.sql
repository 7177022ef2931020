-- Drop a channel's staged variants (any run) before landing a new extract of it.
DELETE FROM staged_variants WHERE channel = ?
