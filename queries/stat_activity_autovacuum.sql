-- pg_stat_activity (PostgreSQL 10+): when each running autovacuum's
-- transaction started, by the table name taken from its query text, as
-- postgres_exporter's stat_activity_autovacuum collector reads it; of two
-- workers on tables of the same name (in different databases or schemas) the
-- older is kept, so no series is given twice.
SELECT DISTINCT ON (relname) relname, timestamp_seconds
FROM (
    SELECT split_part(query, '.', 2)::text AS relname,
           EXTRACT(EPOCH FROM xact_start)::float8 AS timestamp_seconds
    FROM pg_stat_activity
    WHERE query LIKE 'autovacuum:%'
) autovacuums
ORDER BY relname, timestamp_seconds
