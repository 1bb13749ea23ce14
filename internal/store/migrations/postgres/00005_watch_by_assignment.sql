-- +goose Up
-- The scanner loads newly watched addresses by when they were assigned to an order (an address
-- imported into a pool long ago is assigned now), not by when they were created.
CREATE INDEX addresses_assigned ON addresses (protocol, assigned_at) WHERE order_id IS NOT NULL;
DROP INDEX addresses_created;

-- +goose Down
CREATE INDEX addresses_created ON addresses (protocol, created_at);
DROP INDEX addresses_assigned;
