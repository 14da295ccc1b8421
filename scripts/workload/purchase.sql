-- pgbench: a ticket purchase during the rush. A fan (seed wallets 1..2000)
-- reserves an available ticket of a festival and tier (FOR UPDATE SKIP LOCKED
-- on the partial index, as the schema intends), creates an order and pays it
-- from the wallet: the money movement goes into transactions and
-- transactions_partitioned, and the payment into audit_logs. A wallet short of
-- money declines the payment (order cancelled, ticket back on sale); a sold-out
-- festival and tier puts the next batch of 100 tickets on sale. Nothing here
-- raises an error, so no pgbench client is ever aborted.
\set wallet random(1, 2000)
\set festival random(1, 5)
\set tier random(1, 3)
BEGIN;
SELECT coalesce(max(id), 0) AS ticket_id, coalesce(max(price), 0) AS price
FROM (SELECT id, price
      FROM tickets
      WHERE festival = (ARRAY['sunset-sound', 'northern-lights', 'harbour-jazz', 'desert-bass', 'meadow-folk'])[:festival]
        AND tier = (ARRAY['day', 'weekend', 'vip'])[:tier]
        AND status = 'available'
      LIMIT 1
      FOR UPDATE SKIP LOCKED) AS free \gset
\if :ticket_id = 0
-- Sold out: the next batch goes on sale.
INSERT INTO tickets (festival, tier, price)
SELECT (ARRAY['sunset-sound', 'northern-lights', 'harbour-jazz', 'desert-bass', 'meadow-folk'])[:festival],
       (ARRAY['day', 'weekend', 'vip'])[:tier],
       (ARRAY[49, 119, 249])[:tier]
FROM generate_series(1, 100);
INSERT INTO audit_logs (actor, action, entity, entity_id, details)
VALUES ('backoffice', 'ticket.release', 'ticket', NULL,
        jsonb_build_object('festival', (ARRAY['sunset-sound', 'northern-lights', 'harbour-jazz', 'desert-bass', 'meadow-folk'])[:festival],
                           'tier', (ARRAY['day', 'weekend', 'vip'])[:tier], 'count', 100));
\else
UPDATE tickets SET status = 'reserved' WHERE id = :ticket_id;
INSERT INTO orders (wallet_id, festival, status, total)
SELECT :wallet, festival, 'pending', price FROM tickets WHERE id = :ticket_id
RETURNING id AS order_id \gset
WITH paid AS (
    UPDATE wallets SET balance = balance - :price, updated_at = now()
    WHERE id = :wallet AND balance >= :price
    RETURNING id
)
SELECT count(*) AS paid FROM paid \gset
\if :paid
UPDATE orders SET status = 'paid', updated_at = now() WHERE id = :order_id;
UPDATE tickets
SET status = 'sold', order_id = :order_id, holder_name = 'Fan ' || :wallet, sold_at = now()
WHERE id = :ticket_id;
INSERT INTO transactions (wallet_id, order_id, kind, amount) VALUES (:wallet, :order_id, 'purchase', -:price);
INSERT INTO transactions_partitioned (wallet_id, order_id, kind, amount) VALUES (:wallet, :order_id, 'purchase', -:price);
INSERT INTO audit_logs (actor, action, entity, entity_id, details)
VALUES ('fan' || :wallet || '@example.org', 'order.pay', 'order', :order_id,
        jsonb_build_object('ticket', :ticket_id, 'amount', :price));
\else
-- Declined: not enough money in the wallet.
UPDATE orders SET status = 'cancelled', updated_at = now() WHERE id = :order_id;
UPDATE tickets SET status = 'available' WHERE id = :ticket_id;
INSERT INTO audit_logs (actor, action, entity, entity_id, details)
VALUES ('fan' || :wallet || '@example.org', 'order.decline', 'order', :order_id,
        jsonb_build_object('reason', 'insufficient funds', 'amount', :price));
\endif
\endif
COMMIT;
