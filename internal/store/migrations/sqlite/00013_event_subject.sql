-- +goose Up
-- What an event is about (an order id; a deposit's transfer): the webhook dispatcher delivers the
-- events of one subject in the order they were written (by rowid), one at a time.
ALTER TABLE events ADD COLUMN subject TEXT NOT NULL DEFAULT '';
CREATE INDEX events_subject ON events (subject) WHERE subject <> '';

-- +goose Down
DROP INDEX events_subject;
ALTER TABLE events DROP COLUMN subject;
