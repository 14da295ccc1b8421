-- Server identity, read by the scrape engine at the start of every scrape (PostgreSQL 9.6+).
-- Answering it is what `pg_up 1` means.
SELECT current_setting('server_version_num')::int AS version_num,
       version()::text AS version,
       EXTRACT(EPOCH FROM pg_postmaster_start_time())::float8 AS start_time_seconds,
       current_database()::text AS datname
