-- +goose Up
-- What an event is about (an order id; a deposit's transfer): the webhook dispatcher delivers the
-- events of one subject in the order they were written (by seq), one at a time. The events of one
-- subject are written by transactions that exclude each other (the order's row lock, the chain's
-- scanner lease), so seq follows their commits.
ALTER TABLE events ADD COLUMN subject TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN seq BIGSERIAL;
CREATE INDEX events_subject ON events (subject, seq) WHERE subject <> '';

-- +goose Down
DROP INDEX events_subject;
ALTER TABLE events DROP COLUMN seq;
ALTER TABLE events DROP COLUMN subject;
