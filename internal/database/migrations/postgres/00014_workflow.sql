-- +goose Up
-- After-sales workflows (internal/workflow): chains of stages, each owned
-- by a department, defined as JSON documents and versioned.
--
-- A chain, with its current version. key names it across versions and
-- installations (import matches on it).
CREATE TABLE workflow_definitions (
    id         uuid PRIMARY KEY,
    key        text NOT NULL UNIQUE,
    name       text NOT NULL,
    position   integer NOT NULL,
    disabled   boolean NOT NULL DEFAULT false,
    version    integer NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX workflow_definitions_position ON workflow_definitions (position, id);

-- Every version of every chain, kept: a running instance reads the one it
-- started with.
CREATE TABLE workflow_versions (
    definition_id uuid NOT NULL REFERENCES workflow_definitions (id) ON DELETE CASCADE,
    version       integer NOT NULL,
    document      text NOT NULL,
    created_by    text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (definition_id, version)
);

-- A running (or ended) chain on a ticket, or on an after-sales case and
-- its ticket. stage, department_id and role are the current stage and its
-- owner; picked_by who took it. stage_clock_id and pickup_clock_id are the
-- stage's deadlines in sla_clocks. active_key is set while it runs, so a
-- chain runs once at a time on one ticket or case. case_id has no foreign
-- key: cases are read through an interface (their package may be absent).
CREATE TABLE workflow_instances (
    id                 uuid PRIMARY KEY,
    definition_id      uuid NOT NULL,
    definition_version integer NOT NULL,
    ticket_id          uuid NOT NULL REFERENCES tickets (id),
    case_id            uuid,
    cause              text NOT NULL DEFAULT '',
    stage              text NOT NULL DEFAULT '',
    department_id      uuid REFERENCES departments (id),
    role               text NOT NULL DEFAULT '',
    picked_by          uuid REFERENCES staff (id),
    picked_at          timestamptz,
    stage_started_at   timestamptz NOT NULL,
    stage_clock_id     uuid REFERENCES sla_clocks (id),
    pickup_clock_id    uuid REFERENCES sla_clocks (id),
    follower_id        uuid REFERENCES staff (id),
    outcome            text NOT NULL DEFAULT '',
    active_key         text UNIQUE,
    version            integer NOT NULL DEFAULT 1,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    ended_at           timestamptz,
    FOREIGN KEY (definition_id, definition_version) REFERENCES workflow_versions (definition_id, version)
);
-- "Work waiting for my department", oldest stage first.
CREATE INDEX workflow_instances_queue ON workflow_instances (department_id, stage_started_at, id) WHERE ended_at IS NULL;
CREATE INDEX workflow_instances_picked ON workflow_instances (picked_by, stage_started_at) WHERE ended_at IS NULL;
CREATE INDEX workflow_instances_follower ON workflow_instances (follower_id, id) WHERE ended_at IS NULL;
CREATE INDEX workflow_instances_ticket ON workflow_instances (ticket_id, id);
CREATE INDEX workflow_instances_case ON workflow_instances (case_id, id) WHERE case_id IS NOT NULL;
CREATE INDEX workflow_instances_definition ON workflow_instances (definition_id, definition_version);
CREATE INDEX workflow_instances_stage_clock ON workflow_instances (stage_clock_id) WHERE stage_clock_id IS NOT NULL;
CREATE INDEX workflow_instances_pickup_clock ON workflow_instances (pickup_clock_id) WHERE pickup_clock_id IS NOT NULL;

-- The history of an instance: its start, every pick-up, decision (the
-- hand-off from stage to to_stage, or the end with outcome), note and
-- attachment, with the stage's results (findings, verdicts,
-- measurements) as JSON. message_id is the public reply that told the
-- customer, when one was sent with the step.
CREATE TABLE workflow_steps (
    id            uuid PRIMARY KEY,
    instance_id   uuid NOT NULL REFERENCES workflow_instances (id) ON DELETE CASCADE,
    kind          text NOT NULL CHECK (kind IN ('start', 'pickup', 'decision', 'note', 'follower')),
    stage         text NOT NULL,
    decision      text NOT NULL DEFAULT '',
    to_stage      text NOT NULL DEFAULT '',
    outcome       text NOT NULL DEFAULT '',
    department_id uuid REFERENCES departments (id),
    actor_kind    text NOT NULL,
    actor_id      text NOT NULL DEFAULT '',
    actor_name    text NOT NULL DEFAULT '',
    note          text NOT NULL DEFAULT '',
    results       text NOT NULL DEFAULT '{}',
    message_id    uuid REFERENCES messages (id),
    at            timestamptz NOT NULL
);
CREATE INDEX workflow_steps_instance ON workflow_steps (instance_id, id);

-- Files added to an instance (inspection photos, the factory's report),
-- stored in the blob store by their SHA-256.
CREATE TABLE workflow_attachments (
    id           uuid PRIMARY KEY,
    instance_id  uuid NOT NULL REFERENCES workflow_instances (id) ON DELETE CASCADE,
    step_id      uuid NOT NULL REFERENCES workflow_steps (id) ON DELETE CASCADE,
    filename     text NOT NULL,
    content_type text NOT NULL,
    size         bigint NOT NULL,
    sha256       text NOT NULL,
    created_at   timestamptz NOT NULL
);
CREATE INDEX workflow_attachments_instance ON workflow_attachments (instance_id, id);
CREATE INDEX workflow_attachments_step ON workflow_attachments (step_id);

-- +goose Down
DROP TABLE workflow_attachments;
DROP TABLE workflow_steps;
DROP TABLE workflow_instances;
DROP TABLE workflow_versions;
DROP TABLE workflow_definitions;
