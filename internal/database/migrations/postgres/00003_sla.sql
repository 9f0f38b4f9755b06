-- +goose Up
-- Business calendars, edited as a whole (the JSON format of
-- docs/calendar.md). version grows with every edit so compiled calendars
-- can be cached by id and version.
CREATE TABLE calendars (
    id         uuid PRIMARY KEY,
    name       text NOT NULL UNIQUE,
    spec       text NOT NULL,
    version    integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

-- SLA policies in match order; definition holds the conditions, targets,
-- pause statuses, progress-update minimum and workflow stages (JSON).
CREATE TABLE sla_policies (
    id          uuid PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    position    integer NOT NULL,
    calendar_id uuid NOT NULL REFERENCES calendars (id),
    definition  text NOT NULL,
    version     integer NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX sla_policies_position ON sla_policies (position, id);
CREATE INDEX sla_policies_calendar ON sla_policies (calendar_id);

-- Which policy governs a ticket, and a supervisor's waiver of the
-- progress-update minimum.
CREATE TABLE sla_tickets (
    ticket_id     uuid PRIMARY KEY REFERENCES tickets (id),
    policy_id     uuid REFERENCES sla_policies (id),
    waiver_reason text NOT NULL DEFAULT '',
    waived_by     text NOT NULL DEFAULT '',
    waived_at     timestamptz,
    updated_at    timestamptz NOT NULL
);
CREATE INDEX sla_tickets_policy ON sla_tickets (policy_id);

-- One clock per ticket, target and cycle (next_reply starts a new cycle
-- after each customer message). next_at is when the sweep next has
-- something to do (warning, breach, escalation); it is null for stopped
-- and paused clocks, so the sweep's index holds only live work.
CREATE TABLE sla_clocks (
    id             uuid PRIMARY KEY,
    ticket_id      uuid NOT NULL REFERENCES tickets (id),
    target         text NOT NULL,
    cycle          integer NOT NULL DEFAULT 0,
    policy_id      uuid REFERENCES sla_policies (id),
    calendar_id    uuid REFERENCES calendars (id),
    business       boolean NOT NULL,
    budget_seconds bigint NOT NULL,
    started_at     timestamptz NOT NULL,
    due_at         timestamptz NOT NULL,
    agreed_due_at  timestamptz,
    warn_at        timestamptz,
    pauses         text NOT NULL DEFAULT '[]',
    paused_since   timestamptz,
    paused_seconds bigint NOT NULL DEFAULT 0,
    used_seconds   bigint NOT NULL DEFAULT 0,
    met_at         timestamptz,
    breached_at    timestamptz,
    cancelled_at   timestamptz,
    warned         boolean NOT NULL DEFAULT false,
    level          integer NOT NULL DEFAULT 0,
    next_at        timestamptz,
    updated_at     timestamptz NOT NULL,
    UNIQUE (ticket_id, target, cycle)
);
CREATE INDEX sla_clocks_next ON sla_clocks (next_at) WHERE next_at IS NOT NULL;
CREATE INDEX sla_clocks_due ON sla_clocks (due_at, ticket_id)
    WHERE met_at IS NULL AND cancelled_at IS NULL AND paused_since IS NULL;
CREATE INDEX sla_clocks_policy ON sla_clocks (policy_id) WHERE met_at IS NULL AND cancelled_at IS NULL;

-- Every warning, breach and escalation fired: the unique key, written in
-- the transaction of the action, makes each fire exactly once.
CREATE TABLE sla_events (
    id       uuid PRIMARY KEY,
    clock_id uuid NOT NULL REFERENCES sla_clocks (id),
    level    integer NOT NULL,
    kind     text NOT NULL CHECK (kind IN ('warning', 'breach', 'escalation')),
    due_at   timestamptz NOT NULL,
    fired_at timestamptz NOT NULL,
    UNIQUE (clock_id, level, kind)
);

-- Next feedback times agreed with the customer, with their consent.
CREATE TABLE sla_agreements (
    id              uuid PRIMARY KEY,
    ticket_id       uuid NOT NULL REFERENCES tickets (id),
    clock_id        uuid NOT NULL REFERENCES sla_clocks (id),
    customer_id     uuid NOT NULL REFERENCES customers (id),
    next_contact_at timestamptz NOT NULL,
    channel         text NOT NULL,
    consented_at    timestamptz NOT NULL,
    customer_words  text NOT NULL,
    recorded_by     text NOT NULL,
    created_at      timestamptz NOT NULL
);
CREATE INDEX sla_agreements_ticket ON sla_agreements (ticket_id, id);

-- In-app notifications for staff.
CREATE TABLE notifications (
    id         uuid PRIMARY KEY,
    staff_id   uuid NOT NULL REFERENCES staff (id),
    ticket_id  uuid REFERENCES tickets (id),
    kind       text NOT NULL,
    text       text NOT NULL,
    created_at timestamptz NOT NULL,
    read_at    timestamptz
);
CREATE INDEX notifications_staff ON notifications (staff_id, id);

-- +goose Down
DROP TABLE notifications;
DROP TABLE sla_agreements;
DROP TABLE sla_events;
DROP TABLE sla_clocks;
DROP TABLE sla_tickets;
DROP TABLE sla_policies;
DROP TABLE calendars;
