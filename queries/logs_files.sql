-- logs: log_line_prefix for stderr lines, the databases a log line may name
-- (others are counted under datname ""), and whether the role may ask for the
-- current log file (superuser, pg_monitor from 17, or a grant).
SELECT current_setting('log_line_prefix') AS prefix,
       ARRAY(SELECT datname::text FROM pg_database WHERE datallowconn) AS databases,
       has_function_privilege('pg_catalog.pg_current_logfile(text)', 'EXECUTE') AS allowed
