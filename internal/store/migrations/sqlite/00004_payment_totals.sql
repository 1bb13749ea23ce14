-- +goose Up
-- Running totals of each order's credited transfers, added to as transfers arrive and confirm, so
-- settling an order does not re-read its history. NULL confirmed_amount: not summed yet (an order
-- paid before this migration); the next settlement sums its transfers once.
ALTER TABLE orders ADD COLUMN confirmed_amount TEXT DEFAULT '0';
ALTER TABLE orders ADD COLUMN payment_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN first_block INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN first_log_index INTEGER NOT NULL DEFAULT 0;
UPDATE orders SET confirmed_amount = NULL WHERE id IN (SELECT order_id FROM transfers WHERE order_id IS NOT NULL);

-- +goose Down
ALTER TABLE orders DROP COLUMN first_log_index;
ALTER TABLE orders DROP COLUMN first_block;
ALTER TABLE orders DROP COLUMN payment_count;
ALTER TABLE orders DROP COLUMN confirmed_amount;
