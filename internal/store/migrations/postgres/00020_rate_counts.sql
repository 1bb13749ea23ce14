-- +goose Up
-- Rate-limit windows shared by replicas: unlogged, since a count lost in a crash only forgives a
-- few requests, and every request writes one.
CREATE UNLOGGED TABLE rate_counts (
    key          TEXT NOT NULL,
    window_start BIGINT NOT NULL, -- unix ms
    count        INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
);

-- +goose Down
DROP TABLE rate_counts;
