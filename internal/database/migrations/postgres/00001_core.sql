-- +goose Up
CREATE TABLE departments (
    id          uuid PRIMARY KEY,
    slug        text NOT NULL UNIQUE,
    name        text NOT NULL,
    name_zh     text NOT NULL DEFAULT '',
    description text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL
);

CREATE TABLE staff (
    id            uuid PRIMARY KEY,
    email         text NOT NULL UNIQUE,
    name          text NOT NULL,
    role          text NOT NULL CHECK (role IN ('admin', 'supervisor', 'agent', 'staff', 'auditor')),
    language      text NOT NULL DEFAULT 'en',
    password_hash text NOT NULL DEFAULT '',
    disabled_at   timestamptz,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

CREATE TABLE staff_departments (
    staff_id      uuid NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    department_id uuid NOT NULL REFERENCES departments (id) ON DELETE CASCADE,
    PRIMARY KEY (staff_id, department_id)
);
CREATE INDEX staff_departments_department ON staff_departments (department_id);

CREATE TABLE customers (
    id             uuid PRIMARY KEY,
    name           text NOT NULL DEFAULT '',
    language       text NOT NULL DEFAULT '',
    tier           text NOT NULL DEFAULT '',
    birthday       text NOT NULL DEFAULT '',
    note           text NOT NULL DEFAULT '',
    blocked        boolean NOT NULL DEFAULT false,
    blocked_reason text NOT NULL DEFAULT '',
    merged_into    uuid REFERENCES customers (id),
    version        integer NOT NULL DEFAULT 1,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);
CREATE INDEX customers_name ON customers (name);

CREATE TABLE customer_identities (
    id          uuid PRIMARY KEY,
    customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('email', 'phone', 'wechat')),
    value       text NOT NULL,
    -- Byte order (as SQLite compares), so prefix ranges use the index.
    value_norm  text COLLATE "C" NOT NULL,
    failing     boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL,
    UNIQUE (kind, value_norm)
);
CREATE INDEX customer_identities_customer ON customer_identities (customer_id);
CREATE INDEX customer_identities_prefix ON customer_identities (value_norm);

CREATE TABLE customer_tags (
    customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    tag         text NOT NULL,
    PRIMARY KEY (customer_id, tag)
);

CREATE TABLE categories (
    key      text PRIMARY KEY,
    name_en  text NOT NULL,
    name_zh  text NOT NULL DEFAULT '',
    position integer NOT NULL DEFAULT 0,
    archived boolean NOT NULL DEFAULT false
);

-- The categories the seeds' policies sort contacts by; admins edit the list.
INSERT INTO categories (key, name_en, name_zh, position) VALUES
    ('consultation', 'Consultation', '咨询', 10),
    ('order', 'Order', '订单', 20),
    ('logistics', 'Logistics', '物流', 30),
    ('promotion', 'Promotion', '优惠活动', 40),
    ('return_exchange', 'Return / exchange', '退换货', 50),
    ('repair', 'Repair', '维修', 60),
    ('complaint', 'Complaint', '投诉', 70),
    ('billing', 'Billing', '账单', 80),
    ('feedback', 'Feedback', '反馈', 90),
    ('other', 'Other', '其他', 100);

CREATE TABLE custom_fields (
    key      text PRIMARY KEY,
    label_en text NOT NULL,
    label_zh text NOT NULL DEFAULT '',
    type     text NOT NULL CHECK (type IN ('text', 'number', 'date', 'select')),
    options  text NOT NULL DEFAULT '[]',
    position integer NOT NULL DEFAULT 0,
    archived boolean NOT NULL DEFAULT false
);

CREATE TABLE counters (
    name  text PRIMARY KEY,
    value bigint NOT NULL
);
-- Ticket numbers (Dialect.NextTicketNumber): a counters row would be
-- locked by every creating transaction until it commits.
CREATE SEQUENCE ticket_number START 10001;

CREATE TABLE tickets (
    id                       uuid PRIMARY KEY,
    number                   bigint NOT NULL UNIQUE,
    subject                  text NOT NULL,
    customer_id              uuid NOT NULL REFERENCES customers (id),
    channel                  text NOT NULL,
    category                 text NOT NULL REFERENCES categories (key),
    priority                 text NOT NULL,
    status                   text NOT NULL,
    assignee_id              uuid REFERENCES staff (id),
    department_id            uuid REFERENCES departments (id),
    order_number             text COLLATE "C" NOT NULL DEFAULT '',
    custom_fields            text NOT NULL DEFAULT '{}',
    merged_into              uuid REFERENCES tickets (id),
    follow_up_of             uuid REFERENCES tickets (id),
    version                  integer NOT NULL DEFAULT 1,
    created_at               timestamptz NOT NULL,
    updated_at               timestamptz NOT NULL,
    first_reply_at           timestamptz,
    last_customer_message_at timestamptz,
    solved_at                timestamptz,
    closed_at                timestamptz
);
-- One index per list filter, each ending in id: a filtered first page is
-- an index range scan in id (creation) order, whatever the store's size.
CREATE INDEX tickets_status ON tickets (status, id);
CREATE INDEX tickets_assignee ON tickets (assignee_id, status, id);
CREATE INDEX tickets_department ON tickets (department_id, status, id);
-- Without a status the planners would read all of one person's or one
-- department's tickets and sort them; these keep that a range scan too.
CREATE INDEX tickets_assignee_recent ON tickets (assignee_id, id);
CREATE INDEX tickets_department_recent ON tickets (department_id, id);
CREATE INDEX tickets_customer ON tickets (customer_id, id);
CREATE INDEX tickets_category ON tickets (category, id);
CREATE INDEX tickets_channel ON tickets (channel, id);
CREATE INDEX tickets_priority ON tickets (priority, id);
CREATE INDEX tickets_updated ON tickets (updated_at, id);
CREATE INDEX tickets_order ON tickets (order_number) WHERE order_number <> '';
CREATE INDEX tickets_follow_up ON tickets (follow_up_of) WHERE follow_up_of IS NOT NULL;

CREATE TABLE ticket_tags (
    ticket_id uuid NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    tag       text NOT NULL,
    PRIMARY KEY (ticket_id, tag)
);
CREATE INDEX ticket_tags_tag ON ticket_tags (tag, ticket_id);

CREATE TABLE messages (
    id                 uuid PRIMARY KEY,
    ticket_id          uuid NOT NULL REFERENCES tickets (id),
    kind               text NOT NULL CHECK (kind IN ('customer', 'reply', 'note', 'event')),
    channel            text NOT NULL DEFAULT '',
    author_staff_id    uuid REFERENCES staff (id),
    author_customer_id uuid REFERENCES customers (id),
    body_text          text NOT NULL DEFAULT '',
    body_html          text NOT NULL DEFAULT '',
    proposes_solution  boolean NOT NULL DEFAULT false,
    external_id        text,
    created_at         timestamptz NOT NULL
);
CREATE INDEX messages_ticket ON messages (ticket_id, id);
CREATE INDEX messages_customer ON messages (author_customer_id, id);
CREATE UNIQUE INDEX messages_external ON messages (external_id) WHERE external_id IS NOT NULL;

CREATE TABLE attachments (
    id           uuid PRIMARY KEY,
    message_id   uuid NOT NULL REFERENCES messages (id),
    ticket_id    uuid NOT NULL REFERENCES tickets (id),
    filename     text NOT NULL,
    content_type text NOT NULL,
    size         bigint NOT NULL,
    sha256       text NOT NULL,
    inline       boolean NOT NULL DEFAULT false,
    content_id   text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL
);
CREATE INDEX attachments_message ON attachments (message_id);
CREATE INDEX attachments_ticket ON attachments (ticket_id);

CREATE TABLE audit_log (
    id          uuid PRIMARY KEY,
    at          timestamptz NOT NULL,
    actor_kind  text NOT NULL,
    actor_id    text NOT NULL DEFAULT '',
    actor_name  text NOT NULL DEFAULT '',
    action      text NOT NULL,
    entity      text NOT NULL,
    entity_id   text NOT NULL,
    ticket_id   uuid,
    customer_id uuid,
    changes     text NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_ticket ON audit_log (ticket_id, id) WHERE ticket_id IS NOT NULL;
CREATE INDEX audit_log_customer ON audit_log (customer_id, id) WHERE customer_id IS NOT NULL;
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id, id);

-- The audit trail is append-only: the database itself refuses to change
-- or delete a row, whoever asks.
-- +goose StatementBegin
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

CREATE TABLE sessions (
    token  text PRIMARY KEY,
    data   bytea NOT NULL,
    expiry timestamptz NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expiry);

CREATE TABLE api_tokens (
    id           uuid PRIMARY KEY,
    staff_id     uuid NOT NULL REFERENCES staff (id),
    name         text NOT NULL,
    prefix       text NOT NULL,
    token_hash   text NOT NULL UNIQUE,
    scopes       text NOT NULL,
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz,
    created_at   timestamptz NOT NULL
);
CREATE INDEX api_tokens_staff ON api_tokens (staff_id);

CREATE TABLE login_failures (
    id    uuid PRIMARY KEY,
    email text NOT NULL,
    ip    text NOT NULL,
    at    timestamptz NOT NULL
);
CREATE INDEX login_failures_email ON login_failures (email, at);
CREATE INDEX login_failures_ip ON login_failures (ip, at);

CREATE TABLE idempotency_keys (
    actor        text NOT NULL,
    key          text NOT NULL,
    method       text NOT NULL,
    path         text NOT NULL,
    request_hash text NOT NULL,
    status       integer NOT NULL,
    headers      text NOT NULL DEFAULT '{}',
    body         bytea NOT NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (actor, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE login_failures;
DROP TABLE api_tokens;
DROP TABLE sessions;
DROP TABLE audit_log;
DROP FUNCTION audit_log_append_only;
DROP TABLE attachments;
DROP TABLE messages;
DROP TABLE ticket_tags;
DROP TABLE tickets;
DROP SEQUENCE ticket_number;
DROP TABLE counters;
DROP TABLE custom_fields;
DROP TABLE categories;
DROP TABLE customer_tags;
DROP TABLE customer_identities;
DROP TABLE customers;
DROP TABLE staff_departments;
DROP TABLE staff;
DROP TABLE departments;
