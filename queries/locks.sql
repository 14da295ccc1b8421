-- pg_locks (PostgreSQL 9.6+): locks per database and mode, every database
-- (templates too) and every mode present (0 where none) and lowercased, as
-- postgres_exporter serves them.
SELECT d.datname::text AS datname,
       lower(m.mode)::text AS mode,
       count(l.mode)::float8 AS count
FROM pg_database d
CROSS JOIN unnest(ARRAY[
    'AccessShareLock', 'RowShareLock', 'RowExclusiveLock', 'ShareUpdateExclusiveLock',
    'ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock', 'SIReadLock'
]) AS m(mode)
LEFT JOIN pg_locks l ON l.database = d.oid AND l.mode = m.mode
GROUP BY d.datname, m.mode
ORDER BY d.datname, m.mode
