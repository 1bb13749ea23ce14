-- +goose Up
-- The ledger, double-entry: every entry moves an amount (positive, base units) from one account to
-- another — external (the chain), pending (seen, not yet confirmed), available (confirmed) — per
-- project, mode, chain and currency, written in the transaction of the change that causes it.
-- History is never deleted: a reorg posts the reverse entry.
CREATE TABLE ledger_entries (
    id           TEXT PRIMARY KEY,
    project_id   TEXT NOT NULL,
    mode         TEXT NOT NULL,
    chain_id     TEXT NOT NULL,
    currency     TEXT NOT NULL,
    from_account TEXT NOT NULL CHECK (from_account IN ('external', 'pending', 'available')),
    to_account   TEXT NOT NULL CHECK (to_account IN ('external', 'pending', 'available')),
    amount       NUMERIC(78, 0) NOT NULL,
    reason       TEXT NOT NULL CHECK (reason IN ('seen', 'confirmed', 'reversed')),
    tx_hash      TEXT NOT NULL,
    log_index    BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    CHECK (from_account <> to_account)
);

-- Balances kept with the entries; pending and available can never go negative.
CREATE TABLE ledger_balances (
    project_id TEXT NOT NULL,
    mode       TEXT NOT NULL,
    chain_id   TEXT NOT NULL,
    currency   TEXT NOT NULL,
    account    TEXT NOT NULL,
    balance    NUMERIC(78, 0) NOT NULL,
    PRIMARY KEY (project_id, mode, chain_id, currency, account),
    CHECK (account = 'external' OR balance >= 0)
);

-- +goose Down
DROP TABLE ledger_balances;
DROP TABLE ledger_entries;
