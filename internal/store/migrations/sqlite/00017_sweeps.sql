-- +goose Up
-- Sweeps: batches that move what order and deposit addresses hold into the project's hot wallet,
-- one transaction each (outgoing_transactions), and the sweeper contract of each hot wallet. An
-- address is in at most one sweep in flight per token (active legs are unique): nothing is swept
-- twice. What an address holds is derived: its credited, confirmed payments less its legs.
ALTER TABLE outgoing_transactions ADD COLUMN authorize TEXT NOT NULL DEFAULT ''; -- comma-separated addresses
ALTER TABLE outgoing_transactions ADD COLUMN delegate TEXT NOT NULL DEFAULT '';
ALTER TABLE outgoing_transactions ADD COLUMN after_id TEXT NOT NULL DEFAULT ''; -- signed only once that one is confirmed

CREATE TABLE sweepers (
    project_id TEXT NOT NULL REFERENCES projects (id),
    mode       TEXT NOT NULL,
    chain_id   TEXT NOT NULL,
    hot_wallet TEXT NOT NULL,
    address    TEXT NOT NULL DEFAULT '', -- set once its deployment is confirmed
    deploy_id  TEXT NOT NULL,            -- the outgoing transaction that deploys it
    deployed   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (project_id, mode, chain_id)
);

CREATE TABLE sweeps (
    id           TEXT PRIMARY KEY,
    project_id   TEXT NOT NULL REFERENCES projects (id),
    mode         TEXT NOT NULL,
    chain_id     TEXT NOT NULL,
    currency     TEXT NOT NULL,
    token        TEXT NOT NULL,
    to_address   TEXT NOT NULL,
    method       TEXT NOT NULL CHECK (method IN ('batch', 'topup')),
    status       TEXT NOT NULL CHECK (status IN ('deploying', 'sending', 'completed', 'failed')),
    outgoing_id  TEXT NOT NULL DEFAULT '',
    deploy_id    TEXT NOT NULL DEFAULT '', -- the sweeper deployment it waits for (deploying)
    tx_hash      TEXT NOT NULL DEFAULT '',
    gas_used     INTEGER NOT NULL DEFAULT 0,
    fee          TEXT NOT NULL DEFAULT '',
    failure      TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    completed_at INTEGER
);
CREATE INDEX sweeps_by_project ON sweeps (project_id, mode, created_at);
CREATE INDEX sweeps_outgoing ON sweeps (outgoing_id);
CREATE INDEX sweeps_deploy ON sweeps (deploy_id) WHERE status = 'deploying';

CREATE TABLE sweep_legs (
    sweep_id   TEXT NOT NULL REFERENCES sweeps (id),
    project_id TEXT NOT NULL,
    mode       TEXT NOT NULL,
    chain_id   TEXT NOT NULL,
    currency   TEXT NOT NULL,
    address    TEXT NOT NULL,
    amount     TEXT NOT NULL, -- what the ledger said it held
    on_chain   TEXT NOT NULL, -- what balanceOf said before the sweep
    moved      TEXT,          -- what the receipt's Transfer logs moved (final sweeps)
    order_id   TEXT NOT NULL DEFAULT '',
    deposit_id TEXT NOT NULL DEFAULT '',
    active     INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (sweep_id, address)
);
CREATE UNIQUE INDEX sweep_legs_in_flight ON sweep_legs (chain_id, currency, address) WHERE active = 1;
CREATE INDEX sweep_legs_by_project ON sweep_legs (project_id, mode, chain_id);

-- What the hot wallet keeps of each token (token units); sweeps bring the rest on to the treasury.
ALTER TABLE treasuries ADD COLUMN ceiling TEXT NOT NULL DEFAULT '1000';

CREATE TABLE treasury_sends (
    id          TEXT PRIMARY KEY,
    project_id  TEXT NOT NULL,
    mode        TEXT NOT NULL,
    chain_id    TEXT NOT NULL,
    currency    TEXT NOT NULL,
    amount      TEXT NOT NULL,
    to_address  TEXT NOT NULL,
    outgoing_id TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('queued', 'signed', 'broadcast', 'mined', 'confirmed', 'failed'))
);
CREATE INDEX treasury_sends_by_project ON treasury_sends (project_id, mode, chain_id);

-- The fees account: gas a project's transactions paid, in the chain's coin; treasury sends leave
-- available for external.
CREATE TABLE ledger_entries_new (
    id           TEXT PRIMARY KEY,
    project_id   TEXT NOT NULL,
    mode         TEXT NOT NULL,
    chain_id     TEXT NOT NULL,
    currency     TEXT NOT NULL,
    from_account TEXT NOT NULL CHECK (from_account IN ('external', 'pending', 'available', 'fees')),
    to_account   TEXT NOT NULL CHECK (to_account IN ('external', 'pending', 'available', 'fees')),
    amount       TEXT NOT NULL,
    reason       TEXT NOT NULL CHECK (reason IN ('seen', 'confirmed', 'reversed', 'gas', 'treasury')),
    tx_hash      TEXT NOT NULL,
    log_index    INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    CHECK (from_account <> to_account)
);
INSERT INTO ledger_entries_new SELECT * FROM ledger_entries;
DROP TABLE ledger_entries;
ALTER TABLE ledger_entries_new RENAME TO ledger_entries;

-- +goose Down
DELETE FROM ledger_entries WHERE reason IN ('gas', 'treasury');
DELETE FROM ledger_balances WHERE account = 'fees';
DROP TABLE treasury_sends;
ALTER TABLE treasuries DROP COLUMN ceiling;
DROP TABLE sweep_legs;
DROP TABLE sweeps;
DROP TABLE sweepers;
ALTER TABLE outgoing_transactions DROP COLUMN after_id;
ALTER TABLE outgoing_transactions DROP COLUMN delegate;
ALTER TABLE outgoing_transactions DROP COLUMN authorize;
