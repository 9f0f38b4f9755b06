-- +goose Up
-- The email channel. Mailboxes are configured by administrators; their
-- IMAP and SMTP passwords are stored here in the clear (the database is
-- the secret store, as for every other credential Kefu keeps).
CREATE TABLE mailboxes (
    id                  text PRIMARY KEY,
    address             text NOT NULL UNIQUE,
    display_name        text NOT NULL DEFAULT '',
    is_default          boolean NOT NULL DEFAULT false,
    enabled             boolean NOT NULL DEFAULT true,
    imap_host           text NOT NULL DEFAULT '',
    imap_port           integer NOT NULL DEFAULT 993,
    imap_security       text NOT NULL DEFAULT 'tls' CHECK (imap_security IN ('tls', 'starttls', 'none')),
    imap_username       text NOT NULL DEFAULT '',
    imap_password       text NOT NULL DEFAULT '',
    imap_folder         text NOT NULL DEFAULT 'INBOX',
    after_import        text NOT NULL DEFAULT 'flag' CHECK (after_import IN ('flag', 'move')),
    move_to_folder      text NOT NULL DEFAULT '',
    smtp_host           text NOT NULL DEFAULT '',
    smtp_port           integer NOT NULL DEFAULT 587,
    smtp_security       text NOT NULL DEFAULT 'starttls' CHECK (smtp_security IN ('tls', 'starttls', 'none')),
    smtp_username       text NOT NULL DEFAULT '',
    smtp_password       text NOT NULL DEFAULT '',
    signature           text NOT NULL DEFAULT '',
    ack_zh              text NOT NULL DEFAULT '',
    ack_en              text NOT NULL DEFAULT '',
    -- IMAP position: UIDs are only meaningful within one UIDVALIDITY.
    uid_validity        bigint NOT NULL DEFAULT 0,
    last_uid            bigint NOT NULL DEFAULT 0,
    last_polled_at      timestamp,
    last_error          text NOT NULL DEFAULT '',
    version             integer NOT NULL DEFAULT 1,
    created_at          timestamp NOT NULL,
    updated_at          timestamp NOT NULL
);

-- Every mail that reached Kefu, once: dedup_key (the Message-ID, or the
-- SHA-256 of the raw bytes when there is none) is unique, and the row is
-- written in the same transaction as the ticket message it produced, so a
-- mail fetched twice is stored once. Repeats are logged with a null key.
CREATE TABLE inbound_mail (
    id           text PRIMARY KEY,
    dedup_key    text UNIQUE,
    mailbox_id   text REFERENCES mailboxes (id) ON DELETE SET NULL,
    source       text NOT NULL,
    message_id   text NOT NULL DEFAULT '',
    from_address text NOT NULL DEFAULT '',
    subject      text NOT NULL DEFAULT '',
    raw_sha256   text NOT NULL,
    raw_size     bigint NOT NULL,
    outcome      text NOT NULL CHECK (outcome IN ('new_ticket', 'message', 'reopened', 'follow_up', 'bounce',
                     'auto_reply', 'blocked', 'denied', 'duplicate')),
    ticket_id    text REFERENCES tickets (id),
    message_ref  text REFERENCES messages (id),
    problems     text NOT NULL DEFAULT '[]',
    received_at  timestamp NOT NULL
);
CREATE INDEX inbound_mail_outcome ON inbound_mail (outcome, id);

-- Mail Kefu sends: replies, acknowledgements, staff notices. The job in
-- jobs does the sending; this row keeps the Message-ID (threading), the
-- state an admin sees and, for automatic mail, the loop-protection count.
CREATE TABLE outbound_mail (
    id          text PRIMARY KEY,
    job_id      text,
    kind        text NOT NULL CHECK (kind IN ('reply', 'ack', 'notice')),
    mailbox_id  text REFERENCES mailboxes (id) ON DELETE SET NULL,
    ticket_id   text REFERENCES tickets (id),
    message_ref text REFERENCES messages (id),
    to_address  text NOT NULL,
    to_norm     text NOT NULL,
    message_id  text NOT NULL UNIQUE,
    subject     text NOT NULL DEFAULT '',
    state       text NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
    last_error  text NOT NULL DEFAULT '',
    created_at  timestamp NOT NULL,
    sent_at     timestamp
);
CREATE INDEX outbound_mail_state ON outbound_mail (state, id);
CREATE INDEX outbound_mail_auto ON outbound_mail (to_norm, created_at) WHERE kind = 'ack';

-- Senders whose mail is kept but never answered nor made into tickets:
-- a full address or a domain.
CREATE TABLE mail_denylist (
    pattern    text PRIMARY KEY,
    note       text NOT NULL DEFAULT '',
    created_at timestamp NOT NULL
);

-- messages.raw_sha256 points at the original mail in the blob store;
-- automated marks auto-replies, which must not reset SLA clocks or be
-- answered.
ALTER TABLE messages ADD COLUMN raw_sha256 text NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN automated boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE messages DROP COLUMN automated;
ALTER TABLE messages DROP COLUMN raw_sha256;
DROP TABLE mail_denylist;
DROP TABLE outbound_mail;
DROP TABLE inbound_mail;
DROP TABLE mailboxes;
