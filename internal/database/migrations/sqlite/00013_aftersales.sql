-- +goose Up
-- After-sales cases: returns, exchanges, repairs, refunds without return
-- and complaints, each on a ticket and (but for some complaints) an order.

-- Why customers ask, an editable list like ticket categories. basis is the
-- shop reason (internal/shop) a request for this reason is checked as:
-- personal reasons (size_fit, changed_mind) are refused on non-returnable
-- goods, faults need photos where the terms say so; '' checks as a fault
-- that needs no photos (billing, service). responsible is the party a
-- request for this reason usually lies with, proposed when a case opens.
-- kinds lists the kinds of case it applies to (JSON; [] for all).
CREATE TABLE aftersales_reasons (
    key         text PRIMARY KEY,
    name_en     text NOT NULL,
    name_zh     text NOT NULL DEFAULT '',
    basis       text NOT NULL DEFAULT '',
    responsible text NOT NULL DEFAULT '' CHECK (responsible IN ('', 'shop', 'carrier', 'supplier', 'customer')),
    kinds       text NOT NULL DEFAULT '[]',
    position    integer NOT NULL DEFAULT 0,
    archived    boolean NOT NULL DEFAULT false
);
INSERT INTO aftersales_reasons (key, name_en, name_zh, basis, responsible, kinds, position) VALUES
    ('quality_defect', 'Quality defect', '质量问题', 'quality', 'supplier', '[]', 10),
    ('wrong_size', 'Wrong size or fit', '尺码不合适', 'size_fit', 'customer', '["return","exchange"]', 20),
    ('wrong_item', 'Wrong item sent', '发错商品', 'wrong_item', 'shop', '[]', 30),
    ('not_as_described', 'Not as described', '与描述不符', 'not_as_described', 'shop', '[]', 40),
    ('damaged_in_transport', 'Damaged in transport', '运输损坏', 'damaged', 'carrier', '[]', 50),
    ('changed_mind', 'Changed mind', '不想要了', 'changed_mind', 'customer', '["return","refund_only"]', 60),
    ('late_delivery', 'Late delivery', '延迟发货或送达', '', 'carrier', '["refund_only","complaint"]', 70),
    ('not_received', 'Not received', '未收到货', 'not_received', 'carrier', '["refund_only","complaint"]', 80),
    ('billing_error', 'Billing error', '账单错误', '', 'shop', '["refund_only","complaint"]', 90),
    ('service_attitude', 'Service attitude', '服务态度', '', 'shop', '["complaint"]', 100),
    ('other', 'Other', '其他', '', '', '[]', 110);

-- One row of settings (JSON, validated by internal/aftersales): refund
-- working days, complaint targets, the calendar for tickets no SLA policy
-- governs, return instructions and the standard refusal explanations.
CREATE TABLE aftersales_settings (
    id         integer PRIMARY KEY CHECK (id = 1),
    settings   text NOT NULL,
    version    integer NOT NULL DEFAULT 1,
    updated_at timestamp NOT NULL
);

-- A case. step is where it is in its kind's lifecycle; closed_at is set
-- while it is closed (refused and withdrawn cases are closed too).
-- claimed_minor is the value of the items asked about, refunded_minor
-- what was paid back, both in currency. ordered_at, ordered_on (the
-- order's day in the shop's zone) and shop_id copy the order's, so
-- reports group returns by the order's day without reading orders.
-- detail holds the rest (eligibility and its override, return logistics,
-- estimate and consent, replies, …) as JSON.
CREATE TABLE aftersales_cases (
    id             text PRIMARY KEY,
    number         bigint NOT NULL UNIQUE,
    kind           text NOT NULL CHECK (kind IN ('return', 'exchange', 'repair', 'refund_only', 'complaint')),
    ticket_id      text NOT NULL REFERENCES tickets (id),
    order_id       text REFERENCES orders (id),
    shop_id        text REFERENCES shops (id),
    customer_id    text NOT NULL REFERENCES customers (id),
    reason         text NOT NULL REFERENCES aftersales_reasons (key),
    step           text NOT NULL,
    responsible    text NOT NULL DEFAULT '' CHECK (responsible IN ('', 'shop', 'carrier', 'supplier', 'customer')),
    owner_id       text REFERENCES staff (id),
    currency       text NOT NULL DEFAULT '',
    claimed_minor  bigint NOT NULL DEFAULT 0,
    refunded_minor bigint NOT NULL DEFAULT 0,
    ordered_at     timestamp,
    ordered_on     text NOT NULL DEFAULT '',
    detail         text NOT NULL DEFAULT '{}',
    version        integer NOT NULL DEFAULT 1,
    created_at     timestamp NOT NULL,
    updated_at     timestamp NOT NULL,
    closed_at      timestamp
);
CREATE INDEX aftersales_cases_ticket ON aftersales_cases (ticket_id);
CREATE INDEX aftersales_cases_order ON aftersales_cases (order_id);
CREATE INDEX aftersales_cases_customer ON aftersales_cases (customer_id, id);
CREATE INDEX aftersales_cases_open ON aftersales_cases (step, id) WHERE closed_at IS NULL;
-- Reports: returns by the period of their order, volumes by opening.
CREATE INDEX aftersales_cases_cohort ON aftersales_cases (ordered_on, shop_id);
CREATE INDEX aftersales_cases_created ON aftersales_cases (created_at);

-- The items a case is about, with the catalogue's product and supplier as
-- they were when it opened (return rates by SKU, product and supplier),
-- and what arrived and passed inspection.
CREATE TABLE aftersales_case_items (
    case_id          text NOT NULL REFERENCES aftersales_cases (id) ON DELETE CASCADE,
    position         integer NOT NULL,
    order_item_id    text NOT NULL DEFAULT '',
    sku              text NOT NULL,
    name             text NOT NULL DEFAULT '',
    product          text NOT NULL DEFAULT '',
    product_name     text NOT NULL DEFAULT '',
    supplier         text NOT NULL DEFAULT '',
    quantity         integer NOT NULL CHECK (quantity > 0),
    unit_price_minor bigint NOT NULL DEFAULT 0,
    received         integer NOT NULL DEFAULT 0,
    passed           integer NOT NULL DEFAULT 0,
    failed           integer NOT NULL DEFAULT 0,
    PRIMARY KEY (case_id, position)
);

-- Every step and action of a case, in order: its full tracking record.
-- public steps are the ones the customer is told about.
CREATE TABLE aftersales_steps (
    id         text PRIMARY KEY,
    case_id    text NOT NULL REFERENCES aftersales_cases (id) ON DELETE CASCADE,
    action     text NOT NULL,
    step       text NOT NULL,
    actor_kind text NOT NULL,
    actor_id   text NOT NULL DEFAULT '',
    actor_name text NOT NULL DEFAULT '',
    note       text NOT NULL DEFAULT '',
    data       text NOT NULL DEFAULT '{}',
    public     boolean NOT NULL DEFAULT false,
    at         timestamp NOT NULL
);
CREATE INDEX aftersales_steps_case ON aftersales_steps (case_id, id);

-- Photos: the customer's evidence, inspection and repair photos. The
-- content is in the blob store under sha256, as ticket attachments are.
CREATE TABLE aftersales_photos (
    id           text PRIMARY KEY,
    case_id      text NOT NULL REFERENCES aftersales_cases (id) ON DELETE CASCADE,
    step_id      text REFERENCES aftersales_steps (id),
    purpose      text NOT NULL CHECK (purpose IN ('evidence', 'inspection', 'repair')),
    filename     text NOT NULL,
    content_type text NOT NULL,
    size         bigint NOT NULL,
    sha256       text NOT NULL,
    by_customer  boolean NOT NULL DEFAULT false,
    created_at   timestamp NOT NULL
);
CREATE INDEX aftersales_photos_case ON aftersales_photos (case_id, id);

-- Quality inspections of returned or repaired goods, one per round (a
-- case reopened after a failed inspection is inspected again).
CREATE TABLE aftersales_inspections (
    id             text PRIMARY KEY,
    case_id        text NOT NULL REFERENCES aftersales_cases (id) ON DELETE CASCADE,
    round          integer NOT NULL,
    passed         boolean NOT NULL,
    notes          text NOT NULL DEFAULT '',
    inspector_id   text NOT NULL DEFAULT '',
    inspector_name text NOT NULL DEFAULT '',
    at             timestamp NOT NULL,
    UNIQUE (case_id, round)
);
CREATE INDEX aftersales_inspections_at ON aftersales_inspections (at);

-- Remedies: refunds (due within the working days of the settings from
-- started_at; done_at when paid), replacements, discount vouchers (code,
-- expiry; done_at when redeemed) and goodwill credit, each with who
-- approved it.
CREATE TABLE aftersales_remedies (
    id               text PRIMARY KEY,
    case_id          text NOT NULL REFERENCES aftersales_cases (id) ON DELETE CASCADE,
    kind             text NOT NULL CHECK (kind IN ('refund', 'replacement', 'voucher', 'goodwill_credit')),
    state            text NOT NULL CHECK (state IN ('pending', 'paid', 'issued', 'redeemed', 'shipped', 'cancelled')),
    amount_minor     bigint NOT NULL DEFAULT 0,
    currency         text NOT NULL DEFAULT '',
    method           text NOT NULL DEFAULT '',
    reference        text NOT NULL DEFAULT '',
    code             text,
    expires_on       text NOT NULL DEFAULT '',
    approved_by_id   text NOT NULL DEFAULT '',
    approved_by_name text NOT NULL DEFAULT '',
    note             text NOT NULL DEFAULT '',
    started_at       timestamp NOT NULL,
    due_at           timestamp,
    done_at          timestamp,
    done_ref         text NOT NULL DEFAULT '',
    created_at       timestamp NOT NULL
);
CREATE INDEX aftersales_remedies_case ON aftersales_remedies (case_id, id);
CREATE UNIQUE INDEX aftersales_remedies_code ON aftersales_remedies (code) WHERE code IS NOT NULL;
CREATE INDEX aftersales_remedies_done ON aftersales_remedies (kind, done_at);

-- Mails to the customer about a step, as order notices are kept.
CREATE TABLE aftersales_notices (
    id         text PRIMARY KEY,
    case_id    text NOT NULL REFERENCES aftersales_cases (id) ON DELETE CASCADE,
    step_id    text NOT NULL REFERENCES aftersales_steps (id),
    language   text NOT NULL,
    to_address text NOT NULL DEFAULT '',
    subject    text NOT NULL DEFAULT '',
    mail_id    text,
    skipped    text NOT NULL DEFAULT '',
    created_at timestamp NOT NULL
);
CREATE INDEX aftersales_notices_case ON aftersales_notices (case_id, id);

-- What the shop sold, by day (in the shop's zone) and SKU: the
-- denominators of return rates, summed from orders and order_items so a
-- year's report reads a few hundred thousand rows instead of joining
-- millions. sku '' holds the day's order count. internal/aftersales keeps
-- it: days with orders changed since seen_until are summed again, and the
-- whole shop once a day (an order whose date was changed leaves its old
-- day until then).
CREATE TABLE aftersales_sales (
    shop_id text NOT NULL REFERENCES shops (id) ON DELETE CASCADE,
    day     text NOT NULL,
    sku     text NOT NULL,
    orders  integer NOT NULL,
    units   integer NOT NULL,
    PRIMARY KEY (shop_id, day, sku)
);
CREATE TABLE aftersales_sales_state (
    shop_id    text PRIMARY KEY REFERENCES shops (id) ON DELETE CASCADE,
    timezone   text NOT NULL,
    seen_until timestamp NOT NULL,
    rebuilt_at timestamp NOT NULL
);
-- Summing a day reads its orders by date.
CREATE INDEX orders_ordered ON orders (shop_id, ordered_at);

-- Deadlines other parts of Kefu start on a ticket (a refund due, a
-- complaint's reply): the due instant and the warning, breach and
-- escalation rules (JSON, internal/sla's Deadline), since no policy holds
-- them. '' for the clocks of policy targets.
ALTER TABLE sla_clocks ADD COLUMN deadline text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE sla_clocks DROP COLUMN deadline;
DROP INDEX orders_ordered;
DROP TABLE aftersales_sales_state;
DROP TABLE aftersales_sales;
DROP TABLE aftersales_notices;
DROP TABLE aftersales_remedies;
DROP TABLE aftersales_inspections;
DROP TABLE aftersales_photos;
DROP TABLE aftersales_steps;
DROP TABLE aftersales_case_items;
DROP TABLE aftersales_cases;
DROP TABLE aftersales_settings;
DROP TABLE aftersales_reasons;
