-- pg_database (PostgreSQL 9.6+): for every database that accepts connections,
-- the age of its oldest unfrozen transaction ID and multixact ID, as
-- postgres_exporter's database_wraparound collector reads them (its names say
-- _seconds, but the values are transaction counts).
SELECT datname::text AS datname,
       age(datfrozenxid)::float8 AS age_datfrozenxid,
       mxid_age(datminmxid)::float8 AS age_datminmxid
FROM pg_database
WHERE datallowconn
ORDER BY datname
