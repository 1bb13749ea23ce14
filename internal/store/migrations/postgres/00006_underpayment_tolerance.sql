-- +goose Up
-- A project's underpayment tolerance in parts per million of an order's amount; each order keeps
-- the tolerance it was created under.
ALTER TABLE projects ADD COLUMN underpayment_ppm BIGINT NOT NULL DEFAULT 0 CHECK (underpayment_ppm BETWEEN 0 AND 100000);
ALTER TABLE orders ADD COLUMN underpayment_ppm BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE orders DROP COLUMN underpayment_ppm;
ALTER TABLE projects DROP COLUMN underpayment_ppm;
