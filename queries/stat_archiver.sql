-- pg_stat_archiver (PostgreSQL 9.6+): WAL archiving for the guide's
-- "Point-in-Time Recovery Setup". Ages and times are NULL (no sample) until
-- the first archived or failed segment.
SELECT archived_count::float8 AS archived_count,
       failed_count::float8 AS failed_count,
       EXTRACT(EPOCH FROM now() - last_archived_time)::float8 AS last_archive_age,
       EXTRACT(EPOCH FROM last_archived_time)::float8 AS last_archived_time,
       EXTRACT(EPOCH FROM last_failed_time)::float8 AS last_failed_time
FROM pg_stat_archiver
