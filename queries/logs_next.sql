-- logs: the log file written next after $1 (a name in the log directory):
-- the oldest one ending like $2 ('%.csv') modified since $1 last was, for a
-- reader more than one rotation behind (needs pg_monitor).
SELECT l.name::text
FROM pg_ls_logdir() l, pg_ls_logdir() d
WHERE d.name = $1::text AND l.name <> $1::text AND l.name LIKE $2::text
  AND l.modification >= d.modification
ORDER BY l.modification, l.name
LIMIT 1
