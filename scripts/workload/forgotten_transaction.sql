-- pgbench, one client, one transaction: a back-office operator corrects the
-- main gate's float wallet (box-office-4) by hand, then leaves the session
-- idle in transaction for -D idle_seconds=N. The row lock queues every
-- terminal that settles into that wallet (pgbench -D first_terminal=4
-- -D last_terminal=4 box_office.sql), and the open transaction's xid keeps
-- VACUUM from removing the dead tuples the rush leaves behind.
BEGIN;
UPDATE wallets SET balance = balance - 10, updated_at = now()
WHERE owner_email = 'box-office-4@festival.example';
\sleep :idle_seconds s
ROLLBACK;
