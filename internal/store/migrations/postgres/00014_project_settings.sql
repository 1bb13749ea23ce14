-- +goose Up
-- What a merchant can change on a project (PATCH /api/v1/project): the payment window and grace new
-- orders take when they name none, the confirmations it asks for above a chain's rule (a JSON
-- object, chain slug to count), and whether the project is disabled (its keys refused). A transfer
-- keeps the confirmations it needs from when it was seen (min_confirmations; 0: the chain's rule).
ALTER TABLE projects ADD COLUMN payment_window_minutes BIGINT NOT NULL DEFAULT 10 CHECK (payment_window_minutes BETWEEN 1 AND 10080);
ALTER TABLE projects ADD COLUMN grace_minutes BIGINT NOT NULL DEFAULT 5 CHECK (grace_minutes BETWEEN 0 AND 1440);
ALTER TABLE projects ADD COLUMN confirmations TEXT NOT NULL DEFAULT '{}';
ALTER TABLE projects ADD COLUMN disabled_at BIGINT;
ALTER TABLE transfers ADD COLUMN min_confirmations BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE transfers DROP COLUMN min_confirmations;
ALTER TABLE projects DROP COLUMN disabled_at;
ALTER TABLE projects DROP COLUMN confirmations;
ALTER TABLE projects DROP COLUMN grace_minutes;
ALTER TABLE projects DROP COLUMN payment_window_minutes;
