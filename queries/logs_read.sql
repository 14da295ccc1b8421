-- logs: $3 bytes of log file $1 from byte $2 (fewer at its end; NULL when it
-- is missing).
SELECT pg_read_binary_file($1::text, $2::int8, $3::int8, true) AS bytes
