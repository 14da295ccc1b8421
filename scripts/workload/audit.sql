-- pgbench: audit logging without a money movement: app logins, ticket scans
-- at the gates and profile views, a few rows per call as the apps batch them.
\set fan random(1, 2000)
\set event random(1, 3)
\set rows random(1, 5)
INSERT INTO audit_logs (actor, action, entity, entity_id, details)
SELECT 'fan' || :fan || '@example.org',
       (ARRAY['login', 'ticket.scan', 'profile.view'])[:event],
       (ARRAY['session', 'ticket', 'wallet'])[:event],
       :fan,
       jsonb_build_object('ip', format('10.%s.%s.%s', :fan % 256, g, :event), 'via', 'app')
FROM generate_series(1, :rows) AS g;
