-- +goose Up
-- Withdrawals: transfers out of the merchant's custody, from the project's balance or from a
-- deposit reference's (a user withdrawal), each held in the ledger (available → held) from its
-- creation until it is completed (held → external) or rejected or failed (held → available).
CREATE TABLE withdrawals (
    id                TEXT PRIMARY KEY,
    project_id        TEXT NOT NULL REFERENCES projects (id),
    mode              TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    reference         TEXT NOT NULL,
    chain_id          TEXT NOT NULL,
    currency          TEXT NOT NULL,
    token             TEXT NOT NULL,
    amount            TEXT NOT NULL CHECK (amount <> '0' AND amount NOT LIKE '-%'),
    address           TEXT NOT NULL,
    deposit_reference TEXT NOT NULL DEFAULT '',
    deposit_id        TEXT NOT NULL DEFAULT '',
    metadata          TEXT,
    status            TEXT NOT NULL CHECK (status IN ('pending_approval', 'approved', 'awaiting_funds', 'broadcast', 'completed', 'rejected', 'failed')),
    created_by        TEXT NOT NULL,
    approvals         TEXT NOT NULL DEFAULT '[]', -- JSON: [{"by": credential id or "policy", "at": ms}]
    reason            TEXT NOT NULL DEFAULT '',
    waiting           TEXT NOT NULL DEFAULT '',
    failure           TEXT NOT NULL DEFAULT '',
    from_address      TEXT NOT NULL,
    outgoing_id       TEXT NOT NULL DEFAULT '',
    tx_hash           TEXT NOT NULL DEFAULT '',
    gas_used          INTEGER NOT NULL DEFAULT 0,
    fee               TEXT NOT NULL DEFAULT '',
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    completed_at      INTEGER,
    UNIQUE (project_id, mode, reference)
);
CREATE INDEX withdrawals_list ON withdrawals (project_id, mode, created_at);
CREATE INDEX withdrawals_to_send ON withdrawals (chain_id, created_at) WHERE status IN ('approved', 'awaiting_funds') AND outgoing_id = '';
CREATE INDEX withdrawals_outgoing ON withdrawals (outgoing_id) WHERE outgoing_id <> '';
CREATE INDEX withdrawals_daily ON withdrawals (project_id, mode, currency, created_at);

CREATE TABLE withdrawal_history (
    withdrawal_id TEXT NOT NULL REFERENCES withdrawals (id),
    seq           INTEGER NOT NULL,
    at            INTEGER NOT NULL,
    status        TEXT NOT NULL,
    note          TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (withdrawal_id, seq)
);

CREATE TABLE withdrawal_policies (
    project_id         TEXT NOT NULL REFERENCES projects (id),
    mode               TEXT NOT NULL,
    auto_approve_below TEXT NOT NULL DEFAULT '',
    daily_limits       TEXT NOT NULL DEFAULT '{}', -- JSON: {"USDT": "1000"}
    allowlist          INTEGER NOT NULL DEFAULT 0,
    cooling_seconds    INTEGER NOT NULL DEFAULT 86400,
    two_approvals      INTEGER NOT NULL DEFAULT 0,
    updated_at         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (project_id, mode)
);

CREATE TABLE withdrawal_destinations (
    project_id TEXT NOT NULL REFERENCES projects (id),
    mode       TEXT NOT NULL,
    protocol   TEXT NOT NULL,
    address    TEXT NOT NULL,
    label      TEXT NOT NULL DEFAULT '',
    added_at   INTEGER NOT NULL,
    usable_at  INTEGER NOT NULL,
    PRIMARY KEY (project_id, mode, protocol, address)
);

-- A deposit reference's balance per chain and currency: its share of available (its confirmed
-- deposits less its withdrawals held or completed). It can never go negative.
CREATE TABLE user_balances (
    deposit_id TEXT NOT NULL,
    chain_id   TEXT NOT NULL,
    currency   TEXT NOT NULL,
    project_id TEXT NOT NULL,
    mode       TEXT NOT NULL,
    balance    TEXT NOT NULL CHECK (balance NOT LIKE '-%'),
    PRIMARY KEY (deposit_id, chain_id, currency)
);

-- The held account; the entries that move a user's balance name it.
CREATE TABLE ledger_entries_new (
    id           TEXT PRIMARY KEY,
    project_id   TEXT NOT NULL,
    mode         TEXT NOT NULL,
    chain_id     TEXT NOT NULL,
    currency     TEXT NOT NULL,
    from_account TEXT NOT NULL CHECK (from_account IN ('external', 'pending', 'available', 'fees', 'held')),
    to_account   TEXT NOT NULL CHECK (to_account IN ('external', 'pending', 'available', 'fees', 'held')),
    amount       TEXT NOT NULL,
    reason       TEXT NOT NULL CHECK (reason IN ('seen', 'confirmed', 'reversed', 'gas', 'treasury', 'withdrawal', 'released', 'withdrawn')),
    tx_hash      TEXT NOT NULL,
    log_index    INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    user_id      TEXT NOT NULL DEFAULT '',
    CHECK (from_account <> to_account)
);
INSERT INTO ledger_entries_new (id, project_id, mode, chain_id, currency, from_account, to_account, amount, reason, tx_hash, log_index, created_at)
    SELECT id, project_id, mode, chain_id, currency, from_account, to_account, amount, reason, tx_hash, log_index, created_at FROM ledger_entries;
DROP TABLE ledger_entries;
ALTER TABLE ledger_entries_new RENAME TO ledger_entries;

-- The entries of deposits already credited name their deposit, and their user balances start from
-- them (migration 19, in Go: the sums of amounts need integers wider than SQLite's).
UPDATE ledger_entries SET user_id = COALESCE((SELECT t.deposit_id FROM transfers t WHERE t.chain_id = ledger_entries.chain_id
    AND t.tx_hash = ledger_entries.tx_hash AND t.log_index = ledger_entries.log_index AND t.deposit_id IS NOT NULL), '')
    WHERE (from_account = 'available' OR to_account = 'available') AND reason IN ('confirmed', 'reversed');

-- +goose Down
DELETE FROM ledger_entries WHERE reason IN ('withdrawal', 'released', 'withdrawn');
DELETE FROM ledger_balances WHERE account = 'held';
DROP TABLE user_balances;
DROP TABLE withdrawal_destinations;
DROP TABLE withdrawal_policies;
DROP TABLE withdrawal_history;
DROP TABLE withdrawals;
