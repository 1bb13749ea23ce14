-- +goose Up
-- A project starts in test mode: its live keys are refused until the operator switches it to live
-- (stablegate projects go-live), which sets live_at. Projects created before this take live mode
-- as they had it.
ALTER TABLE projects ADD COLUMN live_at INTEGER;
UPDATE projects SET live_at = created_at;

-- +goose Down
ALTER TABLE projects DROP COLUMN live_at;
