-- The reference for queries/stat_user_indexes.sql: the same rows, read the plain way
-- (through PostgreSQL's statistics views where there is one); tests/queries.rs
-- compares the two on every major.
-- pg_stat_user_indexes with pg_index (PostgreSQL 9.6+): the guide's "Check
-- index usage statistics" and "Review and clean up unused indexes": scans per
-- index and whether it is unique, a primary key, and valid (a failed CREATE
-- INDEX CONCURRENTLY leaves an invalid index behind). Catalog and statistics
-- reads only.
SELECT current_database()::text AS datname,
       s.schemaname::text AS schemaname,
       s.relname::text AS relname,
       s.indexrelname::text AS indexrelname,
       i.indisunique::text AS "unique",
       i.indisprimary::text AS "primary",
       i.indisvalid::text AS valid,
       s.idx_scan::float8 AS idx_scan,
       s.idx_tup_read::float8 AS idx_tup_read,
       s.idx_tup_fetch::float8 AS idx_tup_fetch,
       1::float8 AS info
FROM pg_stat_user_indexes s
JOIN pg_index i ON i.indexrelid = s.indexrelid
ORDER BY 2, 3, 4
