-- logs: a log file's size (NULL when it is missing) and its first $2 bytes,
-- which tell a file replaced under the same name from the one read before.
SELECT (pg_stat_file($1::text, true)).size::int8 AS size,
       pg_read_binary_file($1::text, 0, $2::int8, true) AS head
