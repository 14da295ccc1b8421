-- Workload setup, run once with psql after schema/festival.sql (not a pgbench
-- script): the box-office terminals' float wallets, which the ticket rush's
-- box_office.sql settles cash into. The fans' wallets are the seed's ids
-- 1..2000 (fan<id>@example.org); these four get the next ids and are found
-- by their owner_email, never by id. Idempotent.
INSERT INTO wallets (owner_email, balance)
SELECT format('box-office-%s@festival.example', n), 1000
FROM generate_series(1, 4) AS n
ON CONFLICT (owner_email) DO NOTHING;
ANALYZE wallets;
