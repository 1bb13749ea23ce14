-- +goose Up
-- A merchant's treasury address per mode and chain (PUT /api/v1/treasury): where sweeps above the
-- hot wallet's ceiling go.
CREATE TABLE treasuries (
    project_id TEXT   NOT NULL REFERENCES projects (id),
    mode       TEXT   NOT NULL,
    chain_id   TEXT   NOT NULL,
    address    TEXT   NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, mode, chain_id)
);

-- +goose Down
DROP TABLE treasuries;
