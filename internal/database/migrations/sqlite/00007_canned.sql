-- +goose Up
-- Canned replies: texts agents insert into the composer. owner_id NULL
-- makes a reply shared (admins keep those); otherwise it is one staff
-- member's own. language '' offers it whatever the customer's language.
CREATE TABLE canned_replies (
    id         text PRIMARY KEY,
    title      text NOT NULL,
    body       text NOT NULL,
    language   text NOT NULL DEFAULT '' CHECK (language IN ('', 'en', 'zh-CN')),
    owner_id   text REFERENCES staff (id) ON DELETE CASCADE,
    category   text NOT NULL DEFAULT '',
    created_at timestamp NOT NULL,
    updated_at timestamp NOT NULL,
    version    integer NOT NULL DEFAULT 1
);
CREATE INDEX canned_replies_owner ON canned_replies (owner_id, title);

-- +goose Down
DROP TABLE canned_replies;
