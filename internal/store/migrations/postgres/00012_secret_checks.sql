-- +goose Up
-- A stored answer is replayed only to a request that proves what the first one proved: the API
-- secret, where the first request proved it (the credential is in request_hash).
ALTER TABLE idempotency_keys ADD COLUMN secret_proven BIGINT NOT NULL DEFAULT 0;

-- Who imported a pool address: the API key (its id) whose request, proven with the secret, put it
-- there; orders are paid to these addresses.
ALTER TABLE addresses ADD COLUMN imported_by TEXT;

-- +goose Down
ALTER TABLE addresses DROP COLUMN imported_by;
ALTER TABLE idempotency_keys DROP COLUMN secret_proven;
