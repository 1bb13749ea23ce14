-- +goose Up
-- Every transaction stablegate signs (sweeps, payouts): one row from queued to confirmed or failed,
-- every signed version of it (same-nonce replacements), and the history of its states. A nonce is
-- used once per sending address and chain; amounts and fees are decimal strings of base units.
CREATE TABLE outgoing_transactions (
    id                  TEXT PRIMARY KEY,
    project_id          TEXT NOT NULL REFERENCES projects (id),
    mode                TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    chain_id            TEXT NOT NULL,
    purpose             TEXT NOT NULL,
    purpose_id          TEXT NOT NULL DEFAULT '',
    from_address        TEXT NOT NULL,
    to_address          TEXT NOT NULL,
    value               TEXT NOT NULL,
    data                BLOB,
    gas_limit           INTEGER NOT NULL DEFAULT 0,
    status              TEXT NOT NULL CHECK (status IN ('queued', 'signed', 'broadcast', 'mined', 'confirmed', 'failed')),
    nonce               INTEGER,
    tx_hash             TEXT NOT NULL DEFAULT '',
    block_number        INTEGER NOT NULL DEFAULT 0,
    block_hash          TEXT NOT NULL DEFAULT '',
    gas_used            INTEGER NOT NULL DEFAULT 0,
    effective_gas_price TEXT NOT NULL DEFAULT '',
    failure             TEXT NOT NULL DEFAULT '',
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    CHECK ((status = 'queued') = (nonce IS NULL) OR status = 'failed'),
    UNIQUE (chain_id, from_address, nonce)
);
CREATE INDEX outgoing_unfinished ON outgoing_transactions (chain_id, from_address, nonce) WHERE status NOT IN ('confirmed', 'failed');
CREATE INDEX outgoing_by_project ON outgoing_transactions (project_id, mode, created_at);

CREATE TABLE outgoing_attempts (
    tx_hash      TEXT PRIMARY KEY,
    outgoing_id  TEXT NOT NULL REFERENCES outgoing_transactions (id),
    seq          INTEGER NOT NULL,
    raw          BLOB NOT NULL,
    gas_limit    INTEGER NOT NULL,
    tip_cap      TEXT NOT NULL,
    max_fee      TEXT NOT NULL,
    signed_at    INTEGER NOT NULL,
    broadcast_at INTEGER NOT NULL DEFAULT 0,
    error        TEXT NOT NULL DEFAULT '',
    UNIQUE (outgoing_id, seq)
);

CREATE TABLE outgoing_history (
    outgoing_id TEXT NOT NULL REFERENCES outgoing_transactions (id),
    seq         INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    status      TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (outgoing_id, seq)
);

-- +goose Down
DROP TABLE outgoing_history;
DROP TABLE outgoing_attempts;
DROP TABLE outgoing_transactions;
