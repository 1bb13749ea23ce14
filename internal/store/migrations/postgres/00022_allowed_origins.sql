-- +goose Up
-- A project's CORS allowlist: the browser origins whose pages may call the API with its keys.
ALTER TABLE projects ADD COLUMN allowed_origins TEXT NOT NULL DEFAULT '[]'; -- JSON array

-- +goose Down
ALTER TABLE projects DROP COLUMN allowed_origins;
