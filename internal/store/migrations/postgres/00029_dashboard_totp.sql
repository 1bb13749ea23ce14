-- +goose Up
-- Two-factor authentication of dashboard users (TOTP, RFC 6238): the secret sealed with the
-- master key (bound to the user), the one being enrolled until its first code confirms it, and
-- the last time step a code was accepted for, so that a code is good once. Recovery codes are
-- kept as their SHA-256 (each has 80 random bits) and used once.
ALTER TABLE dashboard_users ADD COLUMN totp_secret BYTEA;
ALTER TABLE dashboard_users ADD COLUMN totp_pending BYTEA;
ALTER TABLE dashboard_users ADD COLUMN totp_step BIGINT NOT NULL DEFAULT 0;
CREATE TABLE dashboard_recovery_codes (
    user_id    TEXT NOT NULL REFERENCES dashboard_users (id),
    code_hash  TEXT NOT NULL,
    used_at    BIGINT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);

-- +goose Down
DROP TABLE dashboard_recovery_codes;
ALTER TABLE dashboard_users DROP COLUMN totp_step;
ALTER TABLE dashboard_users DROP COLUMN totp_pending;
ALTER TABLE dashboard_users DROP COLUMN totp_secret;
