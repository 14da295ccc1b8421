-- Runs first on an empty data volume, in the festivals database
-- (POSTGRES_DB). pg_stat_statements is preloaded by the server's command line
-- in docker/compose.yml; the extension makes its view queryable.
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
