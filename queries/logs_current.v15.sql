-- logs (PostgreSQL 15+, which adds jsonlog): the server's current log files
-- by format (paths relative to the data directory, or absolute; NULL when the
-- server writes none: logging_collector off). Run only when the role may
-- call pg_current_logfile() (its privilege is checked even where not called).
SELECT pg_current_logfile('csvlog') AS csvlog,
       pg_current_logfile('jsonlog') AS jsonlog,
       pg_current_logfile('stderr') AS stderr
