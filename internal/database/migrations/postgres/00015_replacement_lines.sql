-- +goose Up
-- Replacement lines: when an exchange's replacement ships, Kefu adds it to
-- the case's order as a line of its own (origin 'exchange', at no charge)
-- and the parcel as one of the order's shipments, both naming the case.
-- The store owns every other line: its upserts replace only lines of
-- origin 'store' and leave Kefu's, and the sales roll-up counts only the
-- store's. case_id is not a foreign key, as aftersales_case_items'
-- order_item_id is not: orders are the shop's, cases Kefu's.
ALTER TABLE order_items ADD COLUMN origin text NOT NULL DEFAULT 'store' CHECK (origin IN ('store', 'exchange'));
ALTER TABLE order_items ADD COLUMN case_id text NOT NULL DEFAULT '';
ALTER TABLE order_items ADD COLUMN case_key text NOT NULL DEFAULT '';
ALTER TABLE shipments ADD COLUMN case_id text NOT NULL DEFAULT '';
ALTER TABLE shipments ADD COLUMN case_key text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE shipments DROP COLUMN case_key;
ALTER TABLE shipments DROP COLUMN case_id;
ALTER TABLE order_items DROP COLUMN case_key;
ALTER TABLE order_items DROP COLUMN case_id;
ALTER TABLE order_items DROP COLUMN origin;
