-- +goose Up
-- Payment links (PayIn): a public checkout page that creates an order per payer. amount is in
-- token units ("0": the payer chooses); currencies is a JSON array of {currency, chainId}. Orders
-- being paid hold a unit of inventory (reserved) until they complete (sold) or expire.
CREATE TABLE payment_links (
    id              TEXT PRIMARY KEY,
    project_id      TEXT NOT NULL REFERENCES projects (id),
    mode            TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    slug            TEXT NOT NULL UNIQUE,
    title           TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    amount          TEXT NOT NULL,
    currencies      TEXT NOT NULL,
    inventory_total INTEGER,
    sold            INTEGER NOT NULL DEFAULT 0,
    reserved        INTEGER NOT NULL DEFAULT 0,
    status          TEXT NOT NULL CHECK (status IN ('draft', 'published', 'archived')),
    expires_at      INTEGER,
    metadata        TEXT,
    created_at      INTEGER NOT NULL
);
CREATE INDEX payment_links_list ON payment_links (project_id, mode, created_at);
ALTER TABLE orders ADD COLUMN payment_link_id TEXT;

-- +goose Down
ALTER TABLE orders DROP COLUMN payment_link_id;
DROP INDEX payment_links_list;
DROP TABLE payment_links;
