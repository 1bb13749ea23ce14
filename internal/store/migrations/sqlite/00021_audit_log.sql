-- +goose Up
-- The audit log: who changed what, when and from where; one line per change, written in the
-- change's transaction. Append-only: the triggers refuse to change or delete a line.
CREATE TABLE audit_log (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT, -- the order lines were written in
    id         TEXT NOT NULL UNIQUE,
    project_id TEXT NOT NULL, -- '' for what no project owns
    mode       TEXT NOT NULL CHECK (mode IN ('', 'test', 'live')), -- '' for what both modes share
    actor_kind TEXT NOT NULL,
    actor_id   TEXT NOT NULL,
    address    TEXT NOT NULL DEFAULT '',
    request_id TEXT NOT NULL DEFAULT '',
    action     TEXT NOT NULL,
    subject    TEXT NOT NULL DEFAULT '',
    details    TEXT NOT NULL DEFAULT '{}', -- JSON object
    created_at INTEGER NOT NULL
);
CREATE INDEX audit_log_list ON audit_log (project_id, seq);

-- +goose StatementBegin
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE audit_log;
