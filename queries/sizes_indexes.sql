-- pg_class (PostgreSQL 9.6+), on every scrape: one row that changes whenever
-- an index of the current database (TOAST indexes included, temporary ones
-- not) is created, dropped, renamed or rebuilt (REINDEX gives a new file
-- node), so that queries/sizes_measure.sql then measures every table again.
-- Catalog reads only.
SELECT count(*)::int8 AS indexes,
       COALESCE(sum(relfilenode::int8), 0)::int8 AS filenodes,
       COALESCE(sum(hashtext(relname::text)), 0)::int8 AS names
FROM pg_class
WHERE relkind IN ('i', 'I')
  AND relpersistence <> 't'
  AND relnamespace <> 'pg_catalog'::regnamespace
