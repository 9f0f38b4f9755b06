-- +goose Up
-- The search index: one row per searchable thing (kind is tickets,
-- messages or customers) holding its text as our tokenizer cut it
-- (internal/search), space-separated. id is an INTEGER PRIMARY KEY so
-- that it is the rowid, which the FTS5 index below refers to and which
-- VACUUM keeps.
CREATE TABLE search_docs (
    id        integer PRIMARY KEY,
    kind      text NOT NULL,
    entity_id text NOT NULL,
    tokens    text NOT NULL,
    UNIQUE (kind, entity_id)
);

-- An external-content FTS5 index over search_docs, kept in step by the
-- triggers below, so the text is stored once and Go writes only
-- search_docs, with the same SQL on both engines. kind is indexed too, so
-- a query for one kind is an intersection inside FTS5 ("kind:messages AND
-- tokens:(...)") rather than a lookup of every match of every kind. The
-- tokens are already cut; unicode61 only splits them at the spaces (marks
-- count as part of a token, as they do for our tokenizer, and no
-- diacritics are removed, so SQLite matches exactly what PostgreSQL does).
CREATE VIRTUAL TABLE search_fts USING fts5(
    kind,
    tokens,
    content = 'search_docs',
    content_rowid = 'id',
    tokenize = "unicode61 remove_diacritics 0 categories 'L* N* Co M*'"
);

-- +goose StatementBegin
CREATE TRIGGER search_docs_insert AFTER INSERT ON search_docs
BEGIN
    INSERT INTO search_fts (rowid, kind, tokens) VALUES (new.id, new.kind, new.tokens);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER search_docs_delete AFTER DELETE ON search_docs
BEGIN
    INSERT INTO search_fts (search_fts, rowid, kind, tokens) VALUES ('delete', old.id, old.kind, old.tokens);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER search_docs_update AFTER UPDATE ON search_docs
BEGIN
    INSERT INTO search_fts (search_fts, rowid, kind, tokens) VALUES ('delete', old.id, old.kind, old.tokens);
    INSERT INTO search_fts (rowid, kind, tokens) VALUES (new.id, new.kind, new.tokens);
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER search_docs_update;
DROP TRIGGER search_docs_delete;
DROP TRIGGER search_docs_insert;
DROP TABLE search_fts;
DROP TABLE search_docs;
