-- +goose Up
-- Invitations to a project's team: a one-time link for an email and a role, shown to the owner who
-- made it (no mail server needed). The database keeps the SHA-256 of the link's token.
CREATE TABLE dashboard_invites (
    id         TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id),
    email      TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'developer', 'viewer')),
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX dashboard_invites_project ON dashboard_invites (project_id);

-- +goose Down
DROP TABLE dashboard_invites;
