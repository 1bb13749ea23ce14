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
    amount            NUMERIC(78, 0) NOT NULL CHECK (amount > 0),
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
    gas_used          BIGINT NOT NULL DEFAULT 0,
    fee               TEXT NOT NULL DEFAULT '',
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    completed_at      BIGINT,
    UNIQUE (project_id, mode, reference)
);
CREATE INDEX withdrawals_list ON withdrawals (project_id, mode, created_at);
CREATE INDEX withdrawals_to_send ON withdrawals (chain_id, created_at) WHERE status IN ('approved', 'awaiting_funds') AND outgoing_id = '';
CREATE INDEX withdrawals_outgoing ON withdrawals (outgoing_id) WHERE outgoing_id <> '';
CREATE INDEX withdrawals_daily ON withdrawals (project_id, mode, currency, created_at);

CREATE TABLE withdrawal_history (
    withdrawal_id TEXT NOT NULL REFERENCES withdrawals (id),
    seq           BIGINT NOT NULL,
    at            BIGINT NOT NULL,
    status        TEXT NOT NULL,
    note          TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (withdrawal_id, seq)
);

CREATE TABLE withdrawal_policies (
    project_id         TEXT NOT NULL REFERENCES projects (id),
    mode               TEXT NOT NULL,
    auto_approve_below TEXT NOT NULL DEFAULT '',
    daily_limits       TEXT NOT NULL DEFAULT '{}', -- JSON: {"USDT": "1000"}
    allowlist          BIGINT NOT NULL DEFAULT 0,
    cooling_seconds    BIGINT NOT NULL DEFAULT 86400,
    two_approvals      BIGINT NOT NULL DEFAULT 0,
    updated_at         BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (project_id, mode)
);

CREATE TABLE withdrawal_destinations (
    project_id TEXT NOT NULL REFERENCES projects (id),
    mode       TEXT NOT NULL,
    protocol   TEXT NOT NULL,
    address    TEXT NOT NULL,
    label      TEXT NOT NULL DEFAULT '',
    added_at   BIGINT NOT NULL,
    usable_at  BIGINT NOT NULL,
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
    balance    NUMERIC(78, 0) NOT NULL CHECK (balance >= 0),
    PRIMARY KEY (deposit_id, chain_id, currency)
);

-- The held account; the entries that move a user's balance name it.
ALTER TABLE ledger_entries ADD COLUMN user_id TEXT NOT NULL DEFAULT '';
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_from_account_check;
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_to_account_check;
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_reason_check;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_from_account_check CHECK (from_account IN ('external', 'pending', 'available', 'fees', 'held'));
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_to_account_check CHECK (to_account IN ('external', 'pending', 'available', 'fees', 'held'));
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_reason_check CHECK (reason IN ('seen', 'confirmed', 'reversed', 'gas', 'treasury', 'withdrawal', 'released', 'withdrawn'));

-- The entries of deposits already credited name their deposit, and their user balances start from
-- them (migration 19, in Go: the sums of amounts need integers wider than SQLite's).
UPDATE ledger_entries SET user_id = COALESCE((SELECT t.deposit_id FROM transfers t WHERE t.chain_id = ledger_entries.chain_id
    AND t.tx_hash = ledger_entries.tx_hash AND t.log_index = ledger_entries.log_index AND t.deposit_id IS NOT NULL), '')
    WHERE (from_account = 'available' OR to_account = 'available') AND reason IN ('confirmed', 'reversed');

-- +goose Down
DELETE FROM ledger_entries WHERE reason IN ('withdrawal', 'released', 'withdrawn');
DELETE FROM ledger_balances WHERE account = 'held';
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_from_account_check;
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_to_account_check;
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_reason_check;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_from_account_check CHECK (from_account IN ('external', 'pending', 'available', 'fees'));
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_to_account_check CHECK (to_account IN ('external', 'pending', 'available', 'fees'));
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_reason_check CHECK (reason IN ('seen', 'confirmed', 'reversed', 'gas', 'treasury'));
ALTER TABLE ledger_entries DROP COLUMN user_id;
DROP TABLE user_balances;
DROP TABLE withdrawal_destinations;
DROP TABLE withdrawal_policies;
DROP TABLE withdrawal_history;
DROP TABLE withdrawals;
