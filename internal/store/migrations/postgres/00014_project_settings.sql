-- +goose Up
-- What a merchant can change on a project (PATCH /api/v1/project): the payment window and grace new
-- orders take when they name none, and whether the project is disabled (its keys refused).
ALTER TABLE projects ADD COLUMN payment_window_minutes BIGINT NOT NULL DEFAULT 10 CHECK (payment_window_minutes BETWEEN 1 AND 10080);
ALTER TABLE projects ADD COLUMN grace_minutes BIGINT NOT NULL DEFAULT 5 CHECK (grace_minutes BETWEEN 0 AND 1440);
ALTER TABLE projects ADD COLUMN disabled_at BIGINT;

-- +goose Down
ALTER TABLE projects DROP COLUMN disabled_at;
ALTER TABLE projects DROP COLUMN grace_minutes;
ALTER TABLE projects DROP COLUMN payment_window_minutes;
