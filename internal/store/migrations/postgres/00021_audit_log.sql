-- +goose Up
-- The audit log: who changed what, when and from where; one line per change, written in the
-- change's transaction. Append-only: the triggers refuse to change, delete or truncate a line.
CREATE TABLE audit_log (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, -- the order lines were written in
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
    created_at BIGINT NOT NULL
);
CREATE INDEX audit_log_list ON audit_log (project_id, seq);

-- +goose StatementBegin
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- +goose Down
DROP TABLE audit_log;
DROP FUNCTION audit_log_append_only();
