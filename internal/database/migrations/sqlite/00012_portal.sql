-- +goose Up
-- The customer portal and the contact form.
--
-- A sign-in challenge: a six-digit code and a link token sent together to
-- an email address or phone number on file. Neither is stored: the code
-- as an argon2id hash (a million candidates cost hours to try offline,
-- far past the expiry), the 32-byte link token as its SHA-256. Each is
-- good once, until expires_at, and for a few wrong codes (attempts).
-- An address nobody holds gets a row too, with no customer and no code
-- sent, so that trying codes tells nobody which addresses are on file.
CREATE TABLE portal_codes (
    id          text PRIMARY KEY,
    customer_id text REFERENCES customers (id) ON DELETE CASCADE,
    channel     text NOT NULL CHECK (channel IN ('email', 'phone')),
    destination text NOT NULL,
    code_hash   text NOT NULL,
    link_hash   text NOT NULL UNIQUE,
    attempts    integer NOT NULL DEFAULT 0,
    ip          text NOT NULL DEFAULT '',
    created_at  timestamp NOT NULL,
    expires_at  timestamp NOT NULL,
    used_at     timestamp
);
-- How many codes an address got lately (the per-address limit).
CREATE INDEX portal_codes_destination ON portal_codes (destination, created_at);
CREATE INDEX portal_codes_customer ON portal_codes (customer_id);

-- Portal sessions, apart from staff sessions: their own cookie, their own
-- table, only the SHA-256 of the token stored. ticket_id limits a session
-- opened with an order number and email to that one request.
CREATE TABLE portal_sessions (
    id           text PRIMARY KEY,
    token_hash   text NOT NULL UNIQUE,
    customer_id  text NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    ticket_id    text REFERENCES tickets (id) ON DELETE CASCADE,
    method       text NOT NULL CHECK (method IN ('code', 'link', 'order')),
    time_zone    text NOT NULL DEFAULT '',
    ip           text NOT NULL DEFAULT '',
    created_at   timestamp NOT NULL,
    last_seen_at timestamp NOT NULL,
    expires_at   timestamp NOT NULL
);
CREATE INDEX portal_sessions_customer ON portal_sessions (customer_id);
CREATE INDEX portal_sessions_expiry ON portal_sessions (expires_at);

-- Failed sign-ins (a wrong code, an order number and email that match
-- nothing), counted per address and per subject across every instance.
CREATE TABLE portal_failures (
    id      text PRIMARY KEY,
    kind    text NOT NULL CHECK (kind IN ('code', 'order')),
    subject text NOT NULL,
    ip      text NOT NULL,
    at      timestamp NOT NULL
);
CREATE INDEX portal_failures_ip ON portal_failures (ip, at);
CREATE INDEX portal_failures_subject ON portal_failures (subject, at);

-- The text of an automatic mail its sender composed (a sign-in code),
-- kept only until the mail is sent or has failed for good.
ALTER TABLE outbound_mail ADD COLUMN body_text text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE outbound_mail DROP COLUMN body_text;
DROP TABLE portal_failures;
DROP TABLE portal_sessions;
DROP TABLE portal_codes;
