-- +goose Up
-- Work that one replica at a time should do (a chain's scanner) is done by the holder of its
-- lease; a lease not renewed by its deadline may be taken by another replica.
CREATE TABLE leases (
    name   TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until  INTEGER NOT NULL
);

-- +goose Down
DROP TABLE leases;
