-- logs: the log file written next after $1 (a name in the log directory):
-- of those ending like $2 ('%.csv'), the first modified after $1 last was
-- (names break ties: modification times are whole seconds here), for a
-- reader more than one rotation behind (needs pg_monitor).
SELECT l.name::text
FROM pg_ls_logdir() l, pg_ls_logdir() d
WHERE d.name = $1::text AND l.name LIKE $2::text
  AND (l.modification, l.name) > (d.modification, d.name)
ORDER BY l.modification, l.name
LIMIT 1
