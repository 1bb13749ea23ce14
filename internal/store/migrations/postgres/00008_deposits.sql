-- +goose Up
-- Per-user deposit addresses (PayIn's bind): one permanent address per reference, project and
-- mode, watched on every chain of its protocol in that mode. Unbinding keeps the address watched.
CREATE TABLE deposit_bindings (
    id         TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id),
    mode       TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    reference  TEXT NOT NULL,
    protocol   TEXT NOT NULL CHECK (protocol IN ('evm', 'tron')),
    address    TEXT NOT NULL,
    metadata   TEXT,
    bound_at   BIGINT NOT NULL,
    unbound_at BIGINT,
    UNIQUE (project_id, mode, reference)
);
ALTER TABLE addresses ADD COLUMN deposit_id TEXT;
CREATE INDEX addresses_deposits ON addresses (protocol, assigned_at) WHERE deposit_id IS NOT NULL;
ALTER TABLE transfers ADD COLUMN deposit_id TEXT;
CREATE INDEX transfers_deposit ON transfers (deposit_id, block_number) WHERE deposit_id IS NOT NULL;
CREATE INDEX transfers_deposits_list ON transfers (project_id, mode, seen_at) WHERE deposit_id IS NOT NULL;

-- +goose Down
DROP INDEX transfers_deposits_list;
DROP INDEX transfers_deposit;
ALTER TABLE transfers DROP COLUMN deposit_id;
DROP INDEX addresses_deposits;
ALTER TABLE addresses DROP COLUMN deposit_id;
DROP TABLE deposit_bindings;
