-- +goose Up
-- Every order has a number, unique across the gateway and increasing as orders are created: the
-- integer id the compatibility APIs give (Crypto Pay's payment_id). The next number is the largest
-- one plus one, read through the unique index in the insert (SQLite's one writer serializes it).
ALTER TABLE orders ADD COLUMN number INTEGER;
UPDATE orders SET number = numbered.n
    FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY created_at, id) AS n FROM orders) AS numbered
    WHERE numbered.id = orders.id;
CREATE UNIQUE INDEX orders_number ON orders (number);

-- +goose Down
DROP INDEX orders_number;
ALTER TABLE orders DROP COLUMN number;
