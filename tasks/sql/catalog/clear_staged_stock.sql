-- Drop a channel's staged stock rows (any run) before landing a new extract of it.
DELETE FROM staged_stock WHERE channel = ?
