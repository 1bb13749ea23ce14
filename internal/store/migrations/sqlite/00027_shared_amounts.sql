-- +goose Up
-- Unique pay amounts on a shared address (Crypto Pay's model): a project may have orders of a
-- chain paid to one address of its own, each told apart by its pay amount (amount + a unique
-- offset). shared_amounts is the setting per chain slug (a JSON object); addresses.shared marks
-- the one shared address of a project's mode and protocol; orders.pay_offset is what the payer
-- pays above the amount, in base units; amount_reservations holds each pay amount for one order
-- at a time, by its primary key, until the order's deadline and hold have passed.
ALTER TABLE projects ADD COLUMN shared_amounts TEXT NOT NULL DEFAULT '{}';
ALTER TABLE orders ADD COLUMN pay_offset TEXT NOT NULL DEFAULT '0';
ALTER TABLE addresses ADD COLUMN shared INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX addresses_shared ON addresses (project_id, mode, protocol) WHERE shared = 1;
CREATE TABLE amount_reservations (
    chain_id   TEXT NOT NULL,
    address    TEXT NOT NULL,
    currency   TEXT NOT NULL,
    pay_amount TEXT NOT NULL,
    order_id   TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    until      INTEGER NOT NULL,
    PRIMARY KEY (chain_id, address, currency, pay_amount)
);

-- +goose Down
DROP TABLE amount_reservations;
DROP INDEX addresses_shared;
ALTER TABLE addresses DROP COLUMN shared;
ALTER TABLE orders DROP COLUMN pay_offset;
ALTER TABLE projects DROP COLUMN shared_amounts;
