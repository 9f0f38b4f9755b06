-- +goose Up
-- The shops whose orders Kefu mirrors. A store signs the webhooks it sends
-- with webhook_secret; after a rotation previous_secret still verifies
-- until previous_secret_until, so deliveries in flight are not lost.
-- terms are the shop's default after-sales terms (JSON), which products
-- and SKUs may override.
CREATE TABLE shops (
    id                    uuid PRIMARY KEY,
    code                  text NOT NULL UNIQUE,
    name                  text NOT NULL,
    timezone              text NOT NULL,
    currency              text NOT NULL,
    language              text NOT NULL DEFAULT 'zh-CN' CHECK (language IN ('en', 'zh-CN')),
    terms                 text NOT NULL DEFAULT '{}',
    notify_confirmation   boolean NOT NULL DEFAULT true,
    notify_delay          boolean NOT NULL DEFAULT true,
    webhook_secret        text NOT NULL,
    previous_secret       text NOT NULL DEFAULT '',
    previous_secret_until timestamptz,
    version               integer NOT NULL DEFAULT 1,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL
);

-- Products keyed by the shop's own code; supplier is kept for return-rate
-- reports by supplier.
CREATE TABLE products (
    id         uuid PRIMARY KEY,
    shop_id    uuid NOT NULL REFERENCES shops (id),
    code       text NOT NULL,
    name       text NOT NULL,
    supplier   text NOT NULL DEFAULT '',
    category   text NOT NULL DEFAULT '',
    material   text NOT NULL DEFAULT '',
    terms      text NOT NULL DEFAULT '{}',
    version    integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    UNIQUE (shop_id, code)
);
CREATE INDEX products_supplier ON products (shop_id, supplier, id);

-- SKUs keyed by the shop's SKU code. A SKU dropped from its product is
-- archived, never deleted: old orders still need its terms.
CREATE TABLE skus (
    id             uuid PRIMARY KEY,
    product_id     uuid NOT NULL REFERENCES products (id),
    shop_id        uuid NOT NULL REFERENCES shops (id),
    code           text NOT NULL,
    name           text NOT NULL DEFAULT '',
    size           text NOT NULL DEFAULT '',
    colour         text NOT NULL DEFAULT '',
    material       text NOT NULL DEFAULT '',
    price_minor    bigint NOT NULL DEFAULT 0,
    stock_status   text NOT NULL CHECK (stock_status IN ('in_stock', 'low_stock', 'out_of_stock', 'preorder', 'discontinued')),
    stock_quantity integer,
    terms          text NOT NULL DEFAULT '{}',
    position       integer NOT NULL DEFAULT 0,
    archived       boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    UNIQUE (shop_id, code)
);
CREATE INDEX skus_product ON skus (product_id, position);

-- Orders keyed by the shop's order number, normalised as tickets store
-- theirs so a ticket's order number finds its order. expected_by is the
-- end of expected_delivery (a date) in the shop's zone; delay_noticed is
-- the expected date for which the customer was told the order is late.
CREATE TABLE orders (
    id                uuid PRIMARY KEY,
    shop_id           uuid NOT NULL REFERENCES shops (id),
    number            text NOT NULL,
    customer_id       uuid NOT NULL REFERENCES customers (id),
    status            text NOT NULL CHECK (status IN ('pending', 'paid', 'processing', 'shipped', 'delivered', 'completed', 'cancelled', 'refunded')),
    currency          text NOT NULL,
    total_minor       bigint NOT NULL DEFAULT 0,
    paid_minor        bigint NOT NULL DEFAULT 0,
    payment_method    text NOT NULL DEFAULT '',
    ordered_at        timestamptz NOT NULL,
    expected_delivery text NOT NULL DEFAULT '',
    expected_by       timestamptz,
    delivered_at      timestamptz,
    shipping_address  text NOT NULL DEFAULT '',
    note              text NOT NULL DEFAULT '',
    delay_noticed     text NOT NULL DEFAULT '',
    version           integer NOT NULL DEFAULT 1,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    -- Number first: a ticket's order number is looked up across shops.
    UNIQUE (number, shop_id)
);
CREATE INDEX orders_customer ON orders (customer_id, id);
CREATE INDEX orders_status ON orders (status, id);
CREATE INDEX orders_updated ON orders (updated_at, id);
-- The delay sweep reads a short range of this: undelivered orders whose
-- expected date just passed.
CREATE INDEX orders_expected ON orders (expected_by) WHERE delivered_at IS NULL AND expected_by IS NOT NULL;

CREATE TABLE order_items (
    id               uuid PRIMARY KEY,
    order_id         uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    position         integer NOT NULL,
    sku_code         text NOT NULL,
    name             text NOT NULL DEFAULT '',
    quantity         integer NOT NULL CHECK (quantity > 0),
    unit_price_minor bigint NOT NULL DEFAULT 0,
    tracking_number  text NOT NULL DEFAULT ''
);
CREATE INDEX order_items_order ON order_items (order_id, position);
CREATE INDEX order_items_sku ON order_items (sku_code, order_id);

CREATE TABLE shipments (
    id              uuid PRIMARY KEY,
    order_id        uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    carrier         text NOT NULL DEFAULT '',
    tracking_number text NOT NULL,
    status          text NOT NULL CHECK (status IN ('pending', 'in_transit', 'out_for_delivery', 'delivered', 'exception', 'returned')),
    shipped_at      timestamptz,
    delivered_at    timestamptz,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    UNIQUE (order_id, tracking_number)
);
CREATE INDEX shipments_tracking ON shipments (tracking_number);

-- Tracking history is only ever added to: a repeated event is the same
-- (time, status) and is kept once.
CREATE TABLE shipment_events (
    shipment_id uuid NOT NULL REFERENCES shipments (id) ON DELETE CASCADE,
    at          timestamptz NOT NULL,
    status      text NOT NULL,
    description text NOT NULL DEFAULT '',
    location    text NOT NULL DEFAULT '',
    PRIMARY KEY (shipment_id, at, status)
);

-- Notices to the customer about an order (confirmation, delay), once per
-- (kind, key); mail_id is the outbound mail that carries it, none when
-- there was no address or no mailbox to send from (skipped says which).
CREATE TABLE order_notices (
    id         uuid PRIMARY KEY,
    order_id   uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    kind       text NOT NULL CHECK (kind IN ('confirmation', 'delay')),
    key        text NOT NULL,
    language   text NOT NULL,
    to_address text NOT NULL DEFAULT '',
    subject    text NOT NULL DEFAULT '',
    mail_id    uuid,
    skipped    text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    UNIQUE (order_id, kind, key)
);

-- Signatures of webhook deliveries recently accepted: the same signed
-- request is refused as a replay while its timestamp is still fresh.
CREATE TABLE shop_webhook_deliveries (
    shop_id     uuid NOT NULL REFERENCES shops (id) ON DELETE CASCADE,
    signature   text NOT NULL,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (shop_id, signature)
);
CREATE INDEX shop_webhook_deliveries_received ON shop_webhook_deliveries (received_at);

-- +goose Down
DROP TABLE shop_webhook_deliveries;
DROP TABLE order_notices;
DROP TABLE shipment_events;
DROP TABLE shipments;
DROP TABLE order_items;
DROP TABLE orders;
DROP TABLE skus;
DROP TABLE products;
DROP TABLE shops;
