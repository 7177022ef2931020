SELECT value FROM watermarks WHERE name = $1
