-- +goose Up
-- Dashboard accounts: a person's email and argon2id password hash, their role in each project,
-- and their signed-in sessions (the SHA-256 of the cookie's token: a copy of the database signs
-- nobody in). Sessions live in the database so that every replica knows them.
CREATE TABLE dashboard_users (
    id                   TEXT PRIMARY KEY,
    email                TEXT NOT NULL UNIQUE,
    password_hash        TEXT NOT NULL,
    must_change_password BIGINT NOT NULL DEFAULT 0,
    failed_sign_ins      BIGINT NOT NULL DEFAULT 0,
    locked_until         BIGINT,
    created_at           BIGINT NOT NULL
);
CREATE TABLE dashboard_members (
    user_id    TEXT NOT NULL REFERENCES dashboard_users (id),
    project_id TEXT NOT NULL REFERENCES projects (id),
    role       TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'developer', 'viewer')),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, project_id)
);
CREATE INDEX dashboard_members_project ON dashboard_members (project_id);
CREATE TABLE dashboard_sessions (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES dashboard_users (id),
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    ip           TEXT NOT NULL,
    user_agent   TEXT NOT NULL
);
CREATE INDEX dashboard_sessions_user ON dashboard_sessions (user_id);

-- +goose Down
DROP TABLE dashboard_sessions;
DROP TABLE dashboard_members;
DROP TABLE dashboard_users;
