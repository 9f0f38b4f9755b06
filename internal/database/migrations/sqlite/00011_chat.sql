-- +goose Up
-- Live chat (internal/chat). A chat is a ticket on the "chat" channel;
-- these tables hold what a ticket does not: who the visitor is, where
-- the conversation stands, and the numbered events a chat stream
-- replays from.

-- One row: the widget's settings. The two secrets are made by Kefu on
-- first use: token_secret signs visitor tokens and never leaves the
-- server; identity_secret is shown to admins so the shop can sign the
-- ids of signed-in shoppers.
CREATE TABLE chat_settings (
    id              integer PRIMARY KEY CHECK (id = 1),
    enabled         boolean NOT NULL DEFAULT true,
    hours           text NOT NULL DEFAULT 'sla' CHECK (hours IN ('sla', 'calendar', 'always')),
    calendar_id     text REFERENCES calendars (id) ON DELETE SET NULL,
    allowed_origins text NOT NULL DEFAULT '',
    token_secret    text NOT NULL,
    identity_secret text NOT NULL,
    version         integer NOT NULL DEFAULT 1,
    updated_at      timestamp NOT NULL
);

-- A visitor is whoever holds a signed visitor token; shop_customer_id is
-- the shop's own id of a signed-in shopper (signed by the shop), which
-- finds the same visitor from any device.
CREATE TABLE chat_visitors (
    id               text PRIMARY KEY,
    shop_customer_id text UNIQUE,
    customer_id      text REFERENCES customers (id),
    name             text NOT NULL DEFAULT '',
    email            text NOT NULL DEFAULT '',
    phone            text NOT NULL DEFAULT '',
    language         text NOT NULL DEFAULT '',
    created_at       timestamp NOT NULL,
    seen_at          timestamp NOT NULL
);
CREATE INDEX chat_visitors_customer ON chat_visitors (customer_id);

-- A visitor's one conversation, across the tickets it has had (a closed
-- ticket's follow-up takes its place). last_seq numbers its events: it
-- is bumped under the row's lock in the transaction that adds an event,
-- so events commit in the order of their numbers.
CREATE TABLE chat_conversations (
    id               text PRIMARY KEY,
    visitor_id       text NOT NULL UNIQUE REFERENCES chat_visitors (id),
    ticket_id        text NOT NULL UNIQUE REFERENCES tickets (id),
    state            text NOT NULL CHECK (state IN ('offline', 'queued', 'active', 'ended')),
    agent_id         text REFERENCES staff (id),
    last_seq         bigint NOT NULL DEFAULT 0,
    visitor_seq      bigint NOT NULL DEFAULT 0,
    visitor_read_seq bigint NOT NULL DEFAULT 0,
    agent_read_seq   bigint NOT NULL DEFAULT 0,
    queued_at        timestamp,
    page_url         text NOT NULL DEFAULT '',
    created_at       timestamp NOT NULL,
    updated_at       timestamp NOT NULL
);
CREATE INDEX chat_conversations_queue ON chat_conversations (state, queued_at, id);
CREATE INDEX chat_conversations_agent ON chat_conversations (agent_id, state);

-- Everything a chat stream shows, numbered per conversation. public
-- events reach the visitor; the others (notes, ticket changes) only the
-- console.
CREATE TABLE chat_events (
    conversation_id text NOT NULL REFERENCES chat_conversations (id) ON DELETE CASCADE,
    seq             bigint NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('message', 'state', 'read', 'changed')),
    public          boolean NOT NULL DEFAULT false,
    message_id      text REFERENCES messages (id),
    data            text NOT NULL DEFAULT '{}',
    created_at      timestamp NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);

-- When each queued chat was accepted: the visitor's expected wait is
-- estimated from the recent ones.
CREATE TABLE chat_waits (
    id              text PRIMARY KEY,
    conversation_id text NOT NULL REFERENCES chat_conversations (id) ON DELETE CASCADE,
    agent_id        text REFERENCES staff (id),
    queued_at       timestamp NOT NULL,
    accepted_at     timestamp NOT NULL
);
CREATE INDEX chat_waits_accepted ON chat_waits (accepted_at);

-- +goose Down
DROP TABLE chat_waits;
DROP TABLE chat_events;
DROP TABLE chat_conversations;
DROP TABLE chat_visitors;
DROP TABLE chat_settings;
