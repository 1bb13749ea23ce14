-- +goose Up
-- Timestamps are Unix milliseconds (UTC); amounts are base-unit integers written as decimal text.
CREATE TABLE projects (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    website      TEXT NOT NULL,
    website_host TEXT NOT NULL UNIQUE,
    webhook_url  TEXT NOT NULL DEFAULT '',
    xpub_evm     TEXT NOT NULL DEFAULT '',
    xpub_tron    TEXT NOT NULL DEFAULT '',
    sealed_seed  BLOB,
    created_at   INTEGER NOT NULL
);

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    project_id  TEXT NOT NULL REFERENCES projects (id),
    mode        TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    key_hash    TEXT NOT NULL UNIQUE,
    secret_hash BLOB NOT NULL,
    key_hint    TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);

CREATE TABLE address_counters (
    project_id TEXT NOT NULL REFERENCES projects (id),
    protocol   TEXT NOT NULL,
    next_index INTEGER NOT NULL,
    PRIMARY KEY (project_id, protocol)
);

-- Every address stablegate ever handed out or was given, once: the primary key makes reuse
-- across orders, projects and modes impossible.
CREATE TABLE addresses (
    protocol         TEXT NOT NULL CHECK (protocol IN ('evm', 'tron')),
    address          TEXT NOT NULL,
    project_id       TEXT NOT NULL REFERENCES projects (id),
    mode             TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    source           TEXT NOT NULL CHECK (source IN ('derived', 'pool')),
    derivation_index INTEGER,
    order_id         TEXT,
    created_at       INTEGER NOT NULL,
    assigned_at      INTEGER,
    PRIMARY KEY (protocol, address)
);
CREATE INDEX addresses_pool_free ON addresses (project_id, mode, protocol, created_at) WHERE source = 'pool' AND order_id IS NULL;
CREATE INDEX addresses_pool ON addresses (project_id, mode, protocol) WHERE source = 'pool';

CREATE TABLE orders (
    id                     TEXT PRIMARY KEY,
    project_id             TEXT NOT NULL REFERENCES projects (id),
    mode                   TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    order_reference        TEXT NOT NULL,
    status                 TEXT NOT NULL,
    amount                 TEXT NOT NULL CHECK (amount GLOB '[1-9]*' AND amount NOT GLOB '*[^0-9]*'),
    currency               TEXT NOT NULL,
    chain_id               TEXT NOT NULL,
    address                TEXT NOT NULL,
    success_url            TEXT NOT NULL DEFAULT '',
    cancel_url             TEXT NOT NULL DEFAULT '',
    metadata               TEXT,
    payment_window_minutes INTEGER NOT NULL,
    grace_minutes          INTEGER NOT NULL,
    expires_at             INTEGER NOT NULL,
    created_at             INTEGER NOT NULL,
    completed_at           INTEGER,
    tx_hash                TEXT NOT NULL DEFAULT '',
    UNIQUE (project_id, mode, order_reference)
);
CREATE INDEX orders_list ON orders (project_id, mode, created_at DESC, id DESC);
CREATE INDEX orders_status ON orders (project_id, mode, status, created_at DESC, id DESC);

CREATE TABLE idempotency_keys (
    project_id   TEXT NOT NULL,
    mode         TEXT NOT NULL,
    idem_key     TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INTEGER NOT NULL DEFAULT 0, -- 0 while the first request runs
    body         TEXT,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (project_id, mode, idem_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE orders;
DROP TABLE addresses;
DROP TABLE address_counters;
DROP TABLE api_keys;
DROP TABLE projects;
