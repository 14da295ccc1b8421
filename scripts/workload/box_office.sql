-- pgbench: a box-office terminal settles a cash sale into its float wallet
-- (box-office-<n>@festival.example, created by setup.sql) and prints the
-- receipt while it still holds the row: few hot rows, so terminals that share
-- one queue behind each other (short lock waits). Which terminals: pgbench
-- -D first_terminal=N -D last_terminal=M (1..4).
\set terminal random(:first_terminal, :last_terminal)
\set amount random(5, 60)
BEGIN;
UPDATE wallets SET balance = balance + :amount, updated_at = now()
WHERE owner_email = 'box-office-' || :terminal || '@festival.example';
SELECT pg_sleep(0.05) AS printing_receipt;
INSERT INTO audit_logs (actor, action, entity, entity_id, details)
SELECT owner_email, 'cash.settle', 'wallet', id, jsonb_build_object('amount', :amount)
FROM wallets WHERE owner_email = 'box-office-' || :terminal || '@festival.example';
COMMIT;
