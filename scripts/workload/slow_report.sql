-- pgbench: finance's revenue report per festival and day over transactions,
-- which takes far too long (pg_sleep stands in for a bad plan on a big table:
-- -D report_seconds=N), then a pause (-D report_pause=N) before the next run.
-- One client; PostgresLongRunningQuery fires while it runs past the threshold.
WITH slow_plan AS MATERIALIZED (SELECT pg_sleep(:report_seconds))
SELECT o.festival,
       date_trunc('day', t.created_at) AS day,
       count(*) AS purchases,
       -sum(t.amount) AS revenue
FROM transactions t
JOIN orders o ON o.id = t.order_id
CROSS JOIN slow_plan
WHERE t.kind = 'purchase'
GROUP BY o.festival, date_trunc('day', t.created_at)
ORDER BY o.festival, day;
\sleep :report_pause s
