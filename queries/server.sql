-- Server identity, read by the scrape engine at the start of every scrape (PostgreSQL 9.6+).
-- Answering it is what `pg_up 1` means. Runs on the pinned search_path (pg_catalog).
SELECT current_setting('server_version_num')::int AS version_num,
       version()::text AS version,
       EXTRACT(EPOCH FROM pg_postmaster_start_time())::float8 AS start_time_seconds,
       current_database()::text AS datname,
       -- The predefined roles whose privileges the collectors need; without
       -- them other sessions' queries and statements read as hidden.
       ARRAY[pg_has_role('pg_monitor', 'USAGE'),
             pg_has_role('pg_read_all_stats', 'USAGE'),
             pg_has_role('pg_read_all_settings', 'USAGE'),
             pg_has_role('pg_stat_scan_tables', 'USAGE')] AS roles
