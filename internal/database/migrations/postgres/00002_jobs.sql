-- +goose Up
-- The outbox: work that must survive a crash is inserted here in the same
-- transaction as the change that causes it, and run by internal/jobs.
CREATE TABLE jobs (
    id           uuid PRIMARY KEY,
    kind         text NOT NULL,
    key          text NOT NULL DEFAULT '',
    payload      text NOT NULL DEFAULT 'null',
    run_at       timestamptz NOT NULL,
    attempts     integer NOT NULL DEFAULT 0,
    max_attempts integer NOT NULL CHECK (max_attempts > 0),
    lease_owner  text NOT NULL DEFAULT '',
    lease_until  timestamptz,
    last_error   text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    finished_at  timestamptz,
    failed_at    timestamptz,
    result       text NOT NULL DEFAULT ''
);
-- Claims look for live jobs of the kinds a Runner handles in run_at order;
-- finished and failed jobs, most of the table over time, are not in the
-- index at all. kind leads so that it, not jobs_kind (which holds every
-- job of the kind), is the planner's choice for "kind IN (…)".
CREATE INDEX jobs_due ON jobs (kind, run_at) WHERE finished_at IS NULL AND failed_at IS NULL;
-- A dedup key is unique among live jobs of a kind: Enqueue's ON CONFLICT
-- names this index, so the second enqueue is a no-op.
CREATE UNIQUE INDEX jobs_key ON jobs (kind, key) WHERE key <> '' AND finished_at IS NULL AND failed_at IS NULL;
CREATE INDEX jobs_failed ON jobs (id) WHERE failed_at IS NOT NULL;
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX jobs_kind ON jobs (kind, id);

-- Cluster-wide leases for periodic sweeps: whoever holds a name until a
-- time runs the sweep; the others skip it.
CREATE TABLE leases (
    name  text PRIMARY KEY,
    owner text NOT NULL,
    until timestamptz NOT NULL
);

-- +goose Down
DROP TABLE leases;
DROP TABLE jobs;
