-- +goose Up
-- Every order has a number, unique across the gateway and increasing as orders are created: the
-- integer id the compatibility APIs give (Crypto Pay's payment_id). A sequence hands them out.
CREATE SEQUENCE order_number;
ALTER TABLE orders ADD COLUMN number BIGINT;
UPDATE orders SET number = n FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY created_at, id) AS n FROM orders) numbered
    WHERE numbered.id = orders.id;
SELECT setval('order_number', COALESCE((SELECT MAX(number) FROM orders), 0) + 1, false);
ALTER TABLE orders ALTER COLUMN number SET DEFAULT nextval('order_number');
ALTER TABLE orders ALTER COLUMN number SET NOT NULL;
ALTER SEQUENCE order_number OWNED BY orders.number;
CREATE UNIQUE INDEX orders_number ON orders (number);

-- +goose Down
DROP INDEX orders_number;
ALTER TABLE orders DROP COLUMN number;
