-- +goose Up
-- Small blobs (mails, documents, screenshots) kept in the database rather
-- than as files: one row commits with the other writes of its group
-- instead of a file written, synced and renamed each, and backups of the
-- database carry them. Larger blobs stay files under the data directory
-- (internal/blob). Keyed by the content's SHA-256 in hex, so the same
-- content is stored once.
CREATE TABLE blobs (
    sha256     text PRIMARY KEY CHECK (length(sha256) = 64),
    size       bigint NOT NULL CHECK (size = length(data)),
    data       bytea NOT NULL,
    created_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE blobs;
