-- pg_stat_progress_vacuum (PostgreSQL 17+) with pg_stat_activity: every
-- running VACUUM (manual or autovacuum). From 17 the dead-tuple store is
-- measured in bytes (max_dead_tuple_bytes, dead_tuple_bytes) and dead item
-- identifiers are counted (num_dead_item_ids); they get their own metric names.
SELECT p.datname::text AS datname,
       COALESCE(n.nspname, '')::text AS schemaname,
       COALESCE(c.relname, p.relid::text)::text AS relname,
       p.phase::text AS phase,
       p.heap_blks_total::float8 AS heap_blks,
       p.heap_blks_scanned::float8 AS heap_blks_scanned,
       p.heap_blks_vacuumed::float8 AS heap_blks_vacuumed,
       p.index_vacuum_count::float8 AS index_vacuums,
       p.max_dead_tuple_bytes::float8 AS max_dead_tuple_bytes,
       p.dead_tuple_bytes::float8 AS dead_tuple_bytes,
       p.num_dead_item_ids::float8 AS num_dead_item_ids,
       EXTRACT(EPOCH FROM now() - COALESCE(a.xact_start, a.query_start))::float8 AS running_seconds,
       (a.backend_type = 'autovacuum worker')::int::float8 AS is_autovacuum
FROM pg_stat_progress_vacuum p
LEFT JOIN pg_class c ON c.oid = p.relid
LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_stat_activity a ON a.pid = p.pid
ORDER BY 1, 2, 3
