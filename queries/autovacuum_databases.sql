-- pg_database (PostgreSQL 9.6+): transaction ID age of every database's oldest
-- unfrozen row; autovacuum forces an anti-wraparound VACUUM at
-- autovacuum_freeze_max_age and the server stops at about 2 billion.
SELECT datname::text AS datname,
       age(datfrozenxid)::float8 AS frozen_xid_age
FROM pg_database
ORDER BY datname
