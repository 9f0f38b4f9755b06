package search

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

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
// rewritten, so a status change costs the FTS5 index nothing.
func (x *SQLIndex) Put(ctx context.Context, tx *sql.Tx, docs ...Doc) error {
	// One statement may not touch a row twice (PostgreSQL refuses), so
	// the last version of each document wins here.
	latest := make(map[[2]string]int, len(docs))
	for i, d := range docs {
		latest[[2]string{string(d.Kind), d.ID}] = i
	}
	var rows []string
	var args []any
	flush := func() error {
		if len(rows) == 0 {
			return nil
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO search_docs (kind, entity_id, tokens) VALUES `+strings.Join(rows, ", ")+`
			ON CONFLICT (kind, entity_id) DO UPDATE SET tokens = excluded.tokens
			WHERE search_docs.tokens <> excluded.tokens`, args...)
		rows, args = rows[:0], args[:0]
		if err != nil {
			return fmt.Errorf("search: index: %w", err)
		}
		return nil
	}
	for i, d := range docs {
		if latest[[2]string{string(d.Kind), d.ID}] != i {
			continue
		}
		tokens := Tokens(d.Text...)
		if tokens == "" {
			// Nothing to match: no row, rather than an empty one.
			if err := x.Delete(ctx, tx, d.Kind, d.ID); err != nil {
				return err
			}
			continue
		}
		rows = append(rows, "("+database.Placeholders(len(args)+1, 3)+")")
		args = append(args, string(d.Kind), d.ID, tokens)
		if len(rows) == putRows {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// Delete removes one document.
func (x *SQLIndex) Delete(ctx context.Context, tx *sql.Tx, kind Kind, id string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM search_docs WHERE kind = $1 AND entity_id = $2`, string(kind), id); err != nil {
		return fmt.Errorf("search: unindex: %w", err)
	}
	return nil
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
