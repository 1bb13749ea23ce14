-- +goose Up
-- A transfer recorded but not counted says why: 'wrong_currency' is a registry token other than its
-- order's currency on the order's chain; orders.wrong_currency says one arrived.
ALTER TABLE transfers ADD COLUMN reason TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN wrong_currency BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE orders DROP COLUMN wrong_currency;
ALTER TABLE transfers DROP COLUMN reason;
