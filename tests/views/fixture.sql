-- Relations of every kind the per-table queries meet (schemas with odd
-- names, tables with 0, 1 and 3 indexes, with and without TOAST, unlogged,
-- materialized views, range, list, hash and nested partitions with DEFAULT
-- partitions and MINVALUE/MAXVALUE bounds, inheritance, reloptions) with rows
-- written, scanned, vacuumed and analyzed: tests/queries.rs compares each
-- query of queries/ with its reference in this directory on this database.
CREATE SCHEMA app;
CREATE SCHEMA "Sales";
CREATE SCHEMA zz_empty;
CREATE SCHEMA archive;

-- Plain tables with 0, 1 and 3 indexes; ints only (no TOAST) and with text (TOAST).
CREATE TABLE app.no_index (a int, b int);
CREATE TABLE app.one_index (id int PRIMARY KEY, b int);
CREATE TABLE app.three_index (id int PRIMARY KEY, b int, c text);
CREATE INDEX three_index_b ON app.three_index (b);
CREATE UNIQUE INDEX three_index_c ON app.three_index (c);
CREATE TABLE "Sales"."Orders" (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, note text);
CREATE TABLE "Sales".ints_only (x int, y bigint);
CREATE TABLE archive.never_touched (id int);
CREATE TABLE public.big_text (id int PRIMARY KEY, body text);
ALTER TABLE public.big_text ALTER COLUMN body SET STORAGE EXTERNAL;
-- Same name in two schemas (ordering).
CREATE TABLE public.dup (id int);
CREATE TABLE app.dup (id int);
CREATE UNLOGGED TABLE app.unlogged_t (id int PRIMARY KEY, t text);

-- Materialized views with and without an index.
INSERT INTO app.one_index SELECT g, g % 10 FROM generate_series(1, 1000) g;
CREATE MATERIALIZED VIEW app.mv_plain AS SELECT b, count(*) AS n FROM app.one_index GROUP BY b;
CREATE MATERIALIZED VIEW app.mv_indexed AS SELECT id, b FROM app.one_index;
CREATE UNIQUE INDEX mv_indexed_id ON app.mv_indexed (id);

-- Range partitioning with a DEFAULT partition, a partitioned index, and a
-- partitioned table without any index.
CREATE TABLE app.events (id int, at date NOT NULL, payload text) PARTITION BY RANGE (at);
CREATE TABLE app.events_2024 PARTITION OF app.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE app.events_2025 PARTITION OF app.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE app.events_default PARTITION OF app.events DEFAULT;
CREATE INDEX events_at ON app.events (at);
CREATE TABLE app.measures (id int, v int) PARTITION BY LIST (id);
CREATE TABLE app.measures_1 PARTITION OF app.measures FOR VALUES IN (1);

-- Inheritance parent and child.
CREATE TABLE app.parent_inh (id int, t text);
CREATE TABLE app.child_inh (extra int) INHERITS (app.parent_inh);
CREATE INDEX child_inh_id ON app.child_inh (id);

-- Other relkinds that must not show up.
CREATE VIEW app.v AS SELECT * FROM app.one_index;
CREATE SEQUENCE app.seq;
CREATE TYPE app.comp AS (a int, b text);

-- Activity: inserts, updates (HOT and not), deletes, seq and index scans.
INSERT INTO app.no_index SELECT g, g FROM generate_series(1, 500) g;
INSERT INTO app.three_index SELECT g, g % 7, 'v' || g FROM generate_series(1, 2000) g;
INSERT INTO "Sales"."Orders" (note) SELECT repeat('x', 3000) FROM generate_series(1, 50);
INSERT INTO "Sales".ints_only SELECT g, g FROM generate_series(1, 300) g;
INSERT INTO public.big_text SELECT g, repeat(md5(g::text), 200) FROM generate_series(1, 200) g;
INSERT INTO public.dup VALUES (1), (2);
INSERT INTO app.unlogged_t SELECT g, 't' FROM generate_series(1, 10) g;
INSERT INTO app.events SELECT g, date '2024-01-01' + (g % 1000), 'p' FROM generate_series(1, 3000) g;
INSERT INTO app.parent_inh SELECT g, 'p' FROM generate_series(1, 100) g;
INSERT INTO app.child_inh SELECT g, 'c', g FROM generate_series(1, 100) g;
UPDATE app.no_index SET b = b + 1 WHERE a <= 100;
UPDATE app.one_index SET b = b + 1 WHERE id <= 50;
UPDATE app.three_index SET b = b + 1 WHERE id <= 300;
DELETE FROM app.three_index WHERE id > 1800;
DELETE FROM "Sales".ints_only WHERE x <= 100;
DELETE FROM app.events WHERE id % 10 = 0;
SET enable_seqscan = off;
SELECT count(*) FROM app.one_index WHERE id = 5;
SELECT count(*) FROM app.three_index WHERE b = 3;
SELECT count(*) FROM app.three_index WHERE c = 'v42';
SELECT count(*) FROM app.mv_indexed WHERE id < 20;
SELECT length(body) FROM public.big_text WHERE id = 7;
SELECT count(*) FROM app.child_inh WHERE id = 3;
RESET enable_seqscan;
SELECT sum(length(body)) FROM public.big_text;
SELECT count(*) FROM app.no_index;
SELECT count(*) FROM app.events;
SELECT count(*) FROM app.parent_inh;
REFRESH MATERIALIZED VIEW app.mv_plain;

-- Maintenance on some of them.
VACUUM app.no_index;
VACUUM ANALYZE app.three_index;
ANALYZE "Sales".ints_only;
ANALYZE app.events;
VACUUM public.big_text;

-- Per-table autovacuum settings (autovacuum_tables.sql).
ALTER TABLE app.three_index SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 100, autovacuum_enabled = false);
ALTER TABLE "Sales"."Orders" SET (autovacuum_analyze_scale_factor = 0.02, fillfactor = 90);
ALTER MATERIALIZED VIEW app.mv_indexed SET (autovacuum_analyze_threshold = 7);

-- Range partitioning on timestamptz with MINVALUE / MAXVALUE bounds, nested
-- partitions, and hash partitioning (partitions.sql).
CREATE TABLE archive.log (at timestamptz NOT NULL, msg text) PARTITION BY RANGE (at);
CREATE TABLE archive.log_old PARTITION OF archive.log FOR VALUES FROM (MINVALUE) TO ('2020-01-01 00:00+00');
CREATE TABLE archive.log_2020 PARTITION OF archive.log FOR VALUES FROM ('2020-01-01 00:00+00') TO ('2021-01-01 00:00+00') PARTITION BY RANGE (at);
CREATE TABLE archive.log_2020_h1 PARTITION OF archive.log_2020 FOR VALUES FROM ('2020-01-01 00:00+00') TO ('2020-07-01 00:00+00');
CREATE TABLE archive.log_future PARTITION OF archive.log FOR VALUES FROM ('2021-01-01 00:00+00') TO (MAXVALUE);
CREATE TABLE app.hashed (id int) PARTITION BY HASH (id);
CREATE TABLE app.hashed_0 PARTITION OF app.hashed FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE app.hashed_1 PARTITION OF app.hashed FOR VALUES WITH (MODULUS 2, REMAINDER 1);
CREATE TABLE archive.log_2020_rest PARTITION OF archive.log_2020 DEFAULT;
INSERT INTO archive.log SELECT timestamptz '2019-06-01 00:00+00' + g * interval '7 days', 'm' FROM generate_series(1, 200) g;
