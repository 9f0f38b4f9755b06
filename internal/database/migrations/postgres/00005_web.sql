-- +goose Up
-- The agent console's own state. Presence lives in the database, not in
-- one instance's memory, so every instance shows the same team status:
-- status is what the staff member chose (online or away); "offline" is
-- derived from last_seen being older than the heartbeat window.
CREATE TABLE staff_presence (
    staff_id  uuid PRIMARY KEY REFERENCES staff (id) ON DELETE CASCADE,
    status    text NOT NULL CHECK (status IN ('online', 'away')),
    last_seen timestamptz NOT NULL
);
CREATE INDEX staff_presence_last_seen ON staff_presence (last_seen);

-- Saved queue views: a name and a ticket filter kept as a URL query
-- string (the same parameters the queue page takes), per staff member.
CREATE TABLE saved_views (
    id         uuid PRIMARY KEY,
    owner_id   uuid NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    name       text NOT NULL,
    filter     text NOT NULL,
    created_at timestamptz NOT NULL,
    UNIQUE (owner_id, name)
);

-- +goose Down
DROP TABLE saved_views;
DROP TABLE staff_presence;
