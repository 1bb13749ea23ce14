-- +goose Up
-- The scanner's position per chain: the last block whose logs are applied.
CREATE TABLE chain_cursors (
    chain_id     TEXT PRIMARY KEY,
    block_number BIGINT NOT NULL,
    block_hash   TEXT NOT NULL,
    updated_at   BIGINT NOT NULL
);

-- Recent applied blocks (range ends) per chain, to find the fork point of a reorg.
CREATE TABLE chain_blocks (
    chain_id     TEXT NOT NULL,
    block_number BIGINT NOT NULL,
    block_hash   TEXT NOT NULL,
    PRIMARY KEY (chain_id, block_number)
);

-- Every token Transfer to a watched address, once: (chain, tx, log index) is the on-chain key.
CREATE TABLE transfers (
    chain_id     TEXT NOT NULL,
    tx_hash      TEXT NOT NULL,
    log_index    BIGINT NOT NULL,
    block_number BIGINT NOT NULL,
    block_hash   TEXT NOT NULL,
    token        TEXT NOT NULL,
    currency     TEXT NOT NULL, -- registry symbol; empty when the token is not in the registry
    from_address TEXT NOT NULL,
    to_address   TEXT NOT NULL,
    amount       NUMERIC(78, 0) NOT NULL,
    order_id     TEXT,
    project_id   TEXT NOT NULL,
    mode         TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('credited', 'ignored')),
    confirmed    BIGINT NOT NULL DEFAULT 0,
    seen_at      BIGINT NOT NULL,
    PRIMARY KEY (chain_id, tx_hash, log_index)
);
CREATE INDEX transfers_order ON transfers (order_id, block_number);
CREATE INDEX transfers_unconfirmed ON transfers (chain_id, block_number) WHERE confirmed = 0;
CREATE INDEX transfers_block ON transfers (chain_id, block_number);

ALTER TABLE orders ADD COLUMN paid_amount NUMERIC(78, 0) NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN overpaid BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN paid_late BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN multiple_payments BIGINT NOT NULL DEFAULT 0;
CREATE INDEX orders_expiry ON orders (status, expires_at);

-- The transactional outbox: every state change writes its event in the same transaction.
CREATE TABLE events (
    id         TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    mode       TEXT NOT NULL,
    type       TEXT NOT NULL,
    data       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX events_project ON events (project_id, mode, created_at);

CREATE INDEX addresses_created ON addresses (protocol, created_at);

-- +goose Down
DROP INDEX addresses_created;
DROP TABLE events;
DROP INDEX orders_expiry;
ALTER TABLE orders DROP COLUMN multiple_payments;
ALTER TABLE orders DROP COLUMN paid_late;
ALTER TABLE orders DROP COLUMN overpaid;
ALTER TABLE orders DROP COLUMN paid_amount;
DROP TABLE transfers;
DROP TABLE chain_blocks;
DROP TABLE chain_cursors;
