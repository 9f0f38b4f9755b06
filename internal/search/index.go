package search

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// SQLIndex keeps documents in search_docs, matched by the engine's
// full-text index (database.Dialect.TextMatch). Visibility is a join to
// tickets with the ticket package's own rule, so search never shows what
// the ticket list would hide.
type SQLIndex struct {
	DB *database.DB
}

// putRows is documents per INSERT: three arguments each, well under
// both engines' limits on bound parameters.
const putRows = 300

// Put upserts docs. A document whose tokens did not change is not
// rewritten, so a status change costs the FTS5 index nothing. The text is
// cut beside the transaction (tokenize); the index is written when tx
// commits, all of the transaction's documents in one statement: SQLite's
// FTS5 index writes a segment per statement, and a commit may hold many
// changes (group commit).
func (x *SQLIndex) Put(ctx context.Context, tx *sql.Tx, docs ...Doc) error {
	ops := make([]any, len(docs))
	for i, d := range docs {
		ops[i] = indexOp{kind: d.Kind, id: d.ID, tokens: tokenize(d.Text)}
	}
	x.DB.WriteAtCommit(tx, indexWriter, ops...)
	return nil
}

// tokenize cuts text in a goroutine of its own and returns a function
// that waits for the tokens. Put runs inside a write transaction, and on
// SQLite every write waits for the one before it, so the costliest part
// of indexing (cutting a long message) runs beside that queue; the
// commit takes the result.
func tokenize(text []string) func() string {
	done := make(chan string, 1)
	go func() { done <- Tokens(text...) }()
	return sync.OnceValue(func() string { return <-done })
}

// Delete removes one document when tx commits.
func (x *SQLIndex) Delete(ctx context.Context, tx *sql.Tx, kind Kind, id string) error {
	x.DB.WriteAtCommit(tx, indexWriter, indexOp{kind: kind, id: id})
	return nil
}

// indexOp puts a document, or deletes it when it has no tokens (nothing
// to match: no row, rather than an empty one).
type indexOp struct {
	kind   Kind
	id     string
	tokens func() string // nil for a delete
}

// indexWriter gathers the operations of each transaction.
var indexWriter = &database.CommitWriter{Flush: flushIndex}

// flushIndex applies a transaction's index operations: the last one for
// each document wins (one statement may not touch a row twice, PostgreSQL
// refuses), then one DELETE and multi-row upserts.
func flushIndex(ctx context.Context, tx *sql.Tx, items []any) error {
	latest := make(map[[2]string]int, len(items))
	for i, it := range items {
		op := it.(indexOp)
		latest[[2]string{string(op.kind), op.id}] = i
	}
	var puts, dels []any
	for i, it := range items {
		op := it.(indexOp)
		if latest[[2]string{string(op.kind), op.id}] != i {
			continue
		}
		tokens := ""
		if op.tokens != nil {
			tokens = op.tokens()
		}
		if tokens == "" {
			dels = append(dels, string(op.kind), op.id)
		} else {
			puts = append(puts, string(op.kind), op.id, tokens)
		}
	}
	// Deletes are rare (merges, emptied text): one statement each.
	for ; len(dels) > 0; dels = dels[2:] {
		if _, err := tx.ExecContext(ctx, `DELETE FROM search_docs WHERE kind = $1 AND entity_id = $2`, dels[:2]...); err != nil {
			return fmt.Errorf("search: unindex: %w", err)
		}
	}
	for len(puts) > 0 {
		n := min(len(puts), 3*putRows)
		_, err := tx.ExecContext(database.Deferrable(ctx), `INSERT INTO search_docs (kind, entity_id, tokens) VALUES `+rowsOf(n/3, 3)+`
			ON CONFLICT (kind, entity_id) DO UPDATE SET tokens = excluded.tokens
			WHERE search_docs.tokens <> excluded.tokens`, puts[:n]...)
		if err != nil {
			return fmt.Errorf("search: index: %w", err)
		}
		puts = puts[n:]
	}
	return nil
}

// rowsOf is "($1, $2), ($3, $4)" for n rows of cols values.
func rowsOf(n, cols int) string {
	rows := make([]string, n)
	for i := range rows {
		rows[i] = "(" + database.Placeholders(i*cols+1, cols) + ")"
	}
	return strings.Join(rows, ", ")
}

// Find runs one full-text query for one kind. For an actor who sees
// every ticket it reads search_docs alone; for others tickets and
// messages are joined to their ticket for the visibility rule (messages
// follow their ticket through merges, as the join finds them where they
// are now). Merged tickets and customers have no documents.
func (x *SQLIndex) Find(ctx context.Context, f Find) ([]Found, error) {
	if len(f.Terms) == 0 || f.Limit <= 0 {
		return nil, nil
	}
	terms := make([]database.TextTerm, len(f.Terms))
	for i, t := range f.Terms {
		terms[i] = database.TextTerm(t)
	}
	m := x.DB.Dialect.TextMatch(1, string(f.Kind))
	args := []any{x.DB.Dialect.TextQuery(terms)}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	from, where := m.From, []string{m.Where}
	if f.Kind != Customers && !f.Actor.SeesAllTickets() {
		if f.Kind == Messages {
			from += " JOIN messages m ON m.id = d.entity_id JOIN tickets t ON t.id = m.ticket_id"
		} else {
			from += " JOIN tickets t ON t.id = d.entity_id"
		}
		cond, vargs := ticket.VisibleCondition(f.Actor, len(args))
		args = append(args, vargs...)
		where = append(where, cond)
	}
	if f.After != "" && !f.Rank {
		after, err := strconv.ParseInt(f.After, 10, 64)
		if err != nil {
			return nil, kefu.Fieldf("cursor", "is not a cursor from a previous page")
		}
		where = append(where, m.Key+" < "+arg(after))
	}
	if len(f.Exclude) > 0 {
		ph := make([]string, len(f.Exclude))
		for i, id := range f.Exclude {
			ph[i] = arg(id)
		}
		where = append(where, "d.entity_id NOT IN ("+strings.Join(ph, ", ")+")")
	}
	// Ranked pages are cut by offset, as relevance has no stable key to
	// continue from.
	order := m.Key + " DESC"
	if f.Rank {
		order = m.Rank + ", " + order
	}
	q := `SELECT CAST(d.entity_id AS text), ` + m.Key + ` FROM ` + from + ` WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY ` + order + fmt.Sprintf(` LIMIT %d OFFSET %d`, f.Limit, max(0, f.Skip))
	rows, err := x.DB.Read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Found
	for rows.Next() {
		var h Found
		var key int64
		if err := rows.Scan(&h.ID, &key); err != nil {
			return nil, err
		}
		h.Pos = strconv.FormatInt(key, 10)
		out = append(out, h)
	}
	return out, rows.Err()
}
