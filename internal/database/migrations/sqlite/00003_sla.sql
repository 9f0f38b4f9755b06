-- +goose Up
-- Business calendars, edited as a whole (the JSON format of
-- docs/calendar.md). version grows with every edit so compiled calendars
-- can be cached by id and version.
CREATE TABLE calendars (
    id         text PRIMARY KEY,
    name       text NOT NULL UNIQUE,
    spec       text NOT NULL,
    version    integer NOT NULL DEFAULT 1,
    created_at timestamp NOT NULL,
    updated_at timestamp NOT NULL
);

-- SLA policies in match order; definition holds the conditions, targets,
-- pause statuses, progress-update minimum and workflow stages (JSON).
CREATE TABLE sla_policies (
    id          text PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    position    integer NOT NULL,
    calendar_id text NOT NULL REFERENCES calendars (id),
    definition  text NOT NULL,
    version     integer NOT NULL DEFAULT 1,
    created_at  timestamp NOT NULL,
    updated_at  timestamp NOT NULL
);
CREATE INDEX sla_policies_position ON sla_policies (position, id);
CREATE INDEX sla_policies_calendar ON sla_policies (calendar_id);

-- Which policy governs a ticket, and a supervisor's waiver of the
-- progress-update minimum.
CREATE TABLE sla_tickets (
    ticket_id     text PRIMARY KEY REFERENCES tickets (id),
    policy_id     text REFERENCES sla_policies (id),
    waiver_reason text NOT NULL DEFAULT '',
    waived_by     text NOT NULL DEFAULT '',
    waived_at     timestamp,
    updated_at    timestamp NOT NULL
);
CREATE INDEX sla_tickets_policy ON sla_tickets (policy_id);

-- One clock per ticket, target and cycle (next_reply starts a new cycle
-- after each customer message). next_at is when the sweep next has
-- something to do (warning, breach, escalation); it is null for stopped
-- and paused clocks, so the sweep's index holds only live work.
CREATE TABLE sla_clocks (
    id             text PRIMARY KEY,
    ticket_id      text NOT NULL REFERENCES tickets (id),
    target         text NOT NULL,
    cycle          integer NOT NULL DEFAULT 0,
    policy_id      text REFERENCES sla_policies (id),
    calendar_id    text REFERENCES calendars (id),
    business       boolean NOT NULL,
    budget_seconds bigint NOT NULL,
    started_at     timestamp NOT NULL,
    due_at         timestamp NOT NULL,
    agreed_due_at  timestamp,
    warn_at        timestamp,
    pauses         text NOT NULL DEFAULT '[]',
    paused_since   timestamp,
    paused_seconds bigint NOT NULL DEFAULT 0,
    used_seconds   bigint NOT NULL DEFAULT 0,
    met_at         timestamp,
    breached_at    timestamp,
    cancelled_at   timestamp,
    warned         boolean NOT NULL DEFAULT false,
    level          integer NOT NULL DEFAULT 0,
    next_at        timestamp,
    updated_at     timestamp NOT NULL,
    UNIQUE (ticket_id, target, cycle)
);
CREATE INDEX sla_clocks_next ON sla_clocks (next_at) WHERE next_at IS NOT NULL;
CREATE INDEX sla_clocks_due ON sla_clocks (due_at, ticket_id)
    WHERE met_at IS NULL AND cancelled_at IS NULL AND paused_since IS NULL;
CREATE INDEX sla_clocks_policy ON sla_clocks (policy_id) WHERE met_at IS NULL AND cancelled_at IS NULL;

-- Every warning, breach and escalation fired: the unique key, written in
-- the transaction of the action, makes each fire exactly once.
CREATE TABLE sla_events (
    id       text PRIMARY KEY,
    clock_id text NOT NULL REFERENCES sla_clocks (id),
    level    integer NOT NULL,
    kind     text NOT NULL CHECK (kind IN ('warning', 'breach', 'escalation')),
    due_at   timestamp NOT NULL,
    fired_at timestamp NOT NULL,
    UNIQUE (clock_id, level, kind)
);

-- Next feedback times agreed with the customer, with their consent.
CREATE TABLE sla_agreements (
    id              text PRIMARY KEY,
    ticket_id       text NOT NULL REFERENCES tickets (id),
    clock_id        text NOT NULL REFERENCES sla_clocks (id),
    customer_id     text NOT NULL REFERENCES customers (id),
    next_contact_at timestamp NOT NULL,
    channel         text NOT NULL,
    consented_at    timestamp NOT NULL,
    customer_words  text NOT NULL,
    recorded_by     text NOT NULL,
    created_at      timestamp NOT NULL
);
CREATE INDEX sla_agreements_ticket ON sla_agreements (ticket_id, id);

-- In-app notifications for staff.
CREATE TABLE notifications (
    id         text PRIMARY KEY,
    staff_id   text NOT NULL REFERENCES staff (id),
    ticket_id  text REFERENCES tickets (id),
    kind       text NOT NULL,
    text       text NOT NULL,
    created_at timestamp NOT NULL,
    read_at    timestamp
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
