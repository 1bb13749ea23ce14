-- +goose Up
-- Rate-limit windows shared by replicas. SQLite keeps its counts in memory (one process writes
-- the database); the table exists so that both engines have the same schema.
CREATE TABLE rate_counts (
    key          TEXT NOT NULL,
    window_start BIGINT NOT NULL, -- unix ms
    count        INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
);

-- +goose Down
DROP TABLE rate_counts;
