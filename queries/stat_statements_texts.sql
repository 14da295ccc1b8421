-- pg_stat_statements (extension 1.8+): the texts of the given queryids ($1)
-- only, for the query info series and to recognise the exporter's own
-- statements. Texts of other users' statements read "<insufficient privilege>"
-- without pg_read_all_stats.
SELECT DISTINCT ON (s.queryid) s.queryid::text AS queryid,
       s.query::text AS query
FROM {schema}.pg_stat_statements(true) s
WHERE s.queryid = ANY($1::bigint[])
ORDER BY s.queryid
