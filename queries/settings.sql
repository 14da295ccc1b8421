-- pg_settings (PostgreSQL 9.6+): every numeric and boolean server setting with
-- its unit (converted to base units in Rust), and a few enum and string
-- settings as text for pg_setting_info. archive_command is never read as
-- text: only whether it is set, unset, or disabled (PostgreSQL shows
-- "(disabled)" while archive_mode is off). Settings given in the exporter's
-- startup packet (source client: statement_timeout, lock_timeout, ...) are
-- left out, since pg_settings would show the session's value, not the
-- server's; those it sets once connected (source session: jit,
-- max_parallel_workers_per_gather) are served with the value the session
-- started with (reset_val): the server's, or the role's or database's.
SELECT name::text AS name,
       CASE WHEN name = 'archive_command' THEN
                CASE setting WHEN '' THEN 'unset' WHEN '(disabled)' THEN 'disabled' ELSE 'set' END
            WHEN source = 'session' THEN reset_val
            ELSE setting END::text AS setting,
       COALESCE(unit, '')::text AS unit,
       vartype::text AS vartype,
       short_desc::text AS short_desc
FROM pg_settings
WHERE (vartype IN ('bool', 'integer', 'real') OR name = ANY($1::text[]))
  AND source <> 'client'
ORDER BY name
