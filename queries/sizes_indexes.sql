-- pg_class (PostgreSQL 9.6+), on every scrape: one row that changes whenever
-- an index of the current database (TOAST indexes included, temporary ones
-- not) is created, dropped, renamed or rebuilt (REINDEX gives a new file
-- node; each name counts with its index's oid, so two indexes swapping names
-- change it too), so that queries/sizes_measure.sql then measures every table
-- again;
-- and whether the server is a standby, whose replayed writes show in no
-- statistics and take no lock, or counts no writes (track_counts off): every
-- table is measured on every scrape there. Catalog reads only.
SELECT pg_is_in_recovery() AS in_recovery,
       current_setting('track_counts')::bool AS track_counts,
       count(*)::int8 AS indexes,
       COALESCE(sum(relfilenode::int8), 0)::int8 AS filenodes,
       COALESCE(sum(hashtext(relname::text || ' ' || oid::text)), 0)::int8 AS names
FROM pg_class
WHERE relkind IN ('i', 'I')
  AND relpersistence <> 't'
  AND relnamespace <> 'pg_catalog'::regnamespace
