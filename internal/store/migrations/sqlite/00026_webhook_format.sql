-- +goose Up
-- The body and signature a webhook endpoint gets: stablegate's (payin, with the three signature
-- headers) or Crypto Pay's (cryptopay: its payment body, X-Signature keyed with the API secret).
ALTER TABLE webhook_endpoints ADD COLUMN format TEXT NOT NULL DEFAULT 'payin';

-- +goose Down
ALTER TABLE webhook_endpoints DROP COLUMN format;
