-- pg_stat_activity (PostgreSQL 10+): how long idle sessions have been in
-- their state, per state and application, as the cumulative counts of
-- postgres_exporter's process_idle histogram (buckets 1 s to 300 s), with the
-- sum and count. The exporter's own sessions are left out.
WITH idle AS (
    SELECT state, application_name,
           EXTRACT(EPOCH FROM now() - state_change)::float8 AS seconds
    FROM pg_stat_activity
    WHERE state ~ '^idle'
      AND state_change IS NOT NULL
      AND application_name IS DISTINCT FROM current_setting('application_name')
)
SELECT state::text AS state,
       COALESCE(application_name, '')::text AS application_name,
       sum(seconds)::float8 AS seconds_sum,
       count(*)::float8 AS seconds_count,
       ARRAY[count(*) FILTER (WHERE seconds <= 1),
             count(*) FILTER (WHERE seconds <= 2),
             count(*) FILTER (WHERE seconds <= 5),
             count(*) FILTER (WHERE seconds <= 15),
             count(*) FILTER (WHERE seconds <= 30),
             count(*) FILTER (WHERE seconds <= 60),
             count(*) FILTER (WHERE seconds <= 90),
             count(*) FILTER (WHERE seconds <= 120),
             count(*) FILTER (WHERE seconds <= 300)]::float8[] AS seconds_bucket
FROM idle
GROUP BY 1, 2
ORDER BY 1, 2
