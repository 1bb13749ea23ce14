-- +goose Up
-- An unpaid checkout holds a unit of its payment link's inventory for the link's reservation only
-- (gateway.Order.HoldsUnit): the units held are counted from the orders, not kept in a counter.
ALTER TABLE payment_links ADD COLUMN reservation_minutes INTEGER NOT NULL DEFAULT 5;
ALTER TABLE payment_links DROP COLUMN reserved;
CREATE INDEX orders_payment_link ON orders (payment_link_id, status, created_at) WHERE payment_link_id IS NOT NULL;

-- +goose Down
DROP INDEX orders_payment_link;
ALTER TABLE payment_links ADD COLUMN reserved INTEGER NOT NULL DEFAULT 0;
ALTER TABLE payment_links DROP COLUMN reservation_minutes;
