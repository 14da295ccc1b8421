-- pgbench: a fan tops up a cashless wallet (seed wallets 1..2000): the
-- balance, the money movement in transactions and transactions_partitioned,
-- and an audit_logs row.
\set wallet random(1, 2000)
\set amount random(50, 400)
BEGIN;
UPDATE wallets SET balance = balance + :amount, updated_at = now() WHERE id = :wallet;
INSERT INTO transactions (wallet_id, kind, amount) VALUES (:wallet, 'top_up', :amount);
INSERT INTO transactions_partitioned (wallet_id, kind, amount) VALUES (:wallet, 'top_up', :amount);
INSERT INTO audit_logs (actor, action, entity, entity_id, details)
VALUES ('fan' || :wallet || '@example.org', 'wallet.top_up', 'wallet', :wallet,
        jsonb_build_object('amount', :amount, 'via', 'app'));
COMMIT;
