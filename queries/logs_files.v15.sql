-- logs (PostgreSQL 15+, which adds jsonlog): the server's current log files
-- by format (paths relative to the data directory, or absolute; NULL when the
-- server writes none: logging_collector off), log_line_prefix for stderr
-- lines, and the databases a log line may name (others are counted under
-- datname "").
SELECT pg_current_logfile('csvlog') AS csvlog,
       pg_current_logfile('jsonlog') AS jsonlog,
       pg_current_logfile('stderr') AS stderr,
       current_setting('log_line_prefix') AS prefix,
       ARRAY(SELECT datname::text FROM pg_database WHERE datallowconn) AS databases
