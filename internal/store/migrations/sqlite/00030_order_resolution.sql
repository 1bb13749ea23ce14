-- +goose Up
-- An order resolved by hand (POST /api/v1/orders/{id}/resolve, the dashboard): the status the
-- merchant set (completed or invalid; empty: none), why, by whom and when. The order keeps that
-- status from then on; the ledger is not touched.
ALTER TABLE orders ADD COLUMN resolution TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN resolution_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN resolved_by TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN resolved_at INTEGER;

-- +goose Down
ALTER TABLE orders DROP COLUMN resolved_at;
ALTER TABLE orders DROP COLUMN resolved_by;
ALTER TABLE orders DROP COLUMN resolution_reason;
ALTER TABLE orders DROP COLUMN resolution;
