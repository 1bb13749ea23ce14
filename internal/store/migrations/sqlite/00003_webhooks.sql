-- +goose Up
-- The webhook configuration of a project in one mode: its URL (empty: none), the event types it
-- takes (comma-separated; empty: all), and the signing secret sealed with the master key. A row
-- exists from the project's creation, so the secret does too.
CREATE TABLE webhook_endpoints (
    project_id      TEXT NOT NULL REFERENCES projects (id),
    mode            TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    url             TEXT NOT NULL DEFAULT '',
    events          TEXT NOT NULL DEFAULT '',
    secret          BLOB NOT NULL,
    secret_at       INTEGER NOT NULL,
    previous_secret BLOB,
    previous_until  INTEGER,
    disabled_at     INTEGER,
    disabled_reason TEXT NOT NULL DEFAULT '',
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (project_id, mode)
);

-- One delivery per event (a project has one endpoint per mode), written with the event.
CREATE TABLE webhook_deliveries (
    event_id         TEXT PRIMARY KEY REFERENCES events (id),
    project_id       TEXT NOT NULL,
    mode             TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed', 'skipped')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    step             INTEGER NOT NULL DEFAULT 0, -- automatic retries used
    next_attempt_at  INTEGER NOT NULL,
    lease_until      INTEGER NOT NULL DEFAULT 0, -- a dispatcher holds it until then
    last_status_code INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT NOT NULL DEFAULT '',
    delivered_at     INTEGER,
    created_at       INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_list ON webhook_deliveries (project_id, mode, created_at);
CREATE INDEX webhook_deliveries_status ON webhook_deliveries (project_id, mode, status, created_at);

-- Every attempt to deliver an event.
CREATE TABLE webhook_attempts (
    event_id     TEXT NOT NULL REFERENCES webhook_deliveries (event_id),
    attempt      INTEGER NOT NULL,
    attempted_at INTEGER NOT NULL,
    url          TEXT NOT NULL,
    status_code  INTEGER NOT NULL DEFAULT 0,
    error        TEXT NOT NULL DEFAULT '',
    duration_ms  INTEGER NOT NULL,
    PRIMARY KEY (event_id, attempt)
);

-- Events written before webhooks existed were never sent.
INSERT INTO webhook_deliveries (event_id, project_id, mode, status, next_attempt_at, created_at)
    SELECT id, project_id, mode, 'skipped', created_at, created_at FROM events;

-- Endpoints (with their secrets) replace the project's single URL.
ALTER TABLE projects DROP COLUMN webhook_url;

-- +goose Down
ALTER TABLE projects ADD COLUMN webhook_url TEXT NOT NULL DEFAULT '';
DROP TABLE webhook_attempts;
DROP INDEX webhook_deliveries_status;
DROP INDEX webhook_deliveries_list;
DROP INDEX webhook_deliveries_due;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;
