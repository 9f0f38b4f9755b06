package search

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// reindexBatch is rows read and written per transaction: small enough
// that SQLite's one writer is never held for long while the desk runs.
const reindexBatch = 1000

// Reindex rebuilds the index from the tables: after an upgrade that
// brought search to a store with data, after bulk imports that bypass the
// services, or to repair. It runs in batches, each its own transaction,
// so the desk stays usable; documents of things that no longer exist are
// removed at the end. It returns how many documents it wrote.
func (s *Service) Reindex(ctx context.Context) (int, error) {
	total := 0
	for _, step := range []struct {
		kind Kind
		q    string // one batch after id $1
		docs func(rows *sql.Rows) ([]Doc, []string, error)
	}{
		{Tickets, `SELECT CAST(id AS text), number, subject, order_number FROM tickets WHERE id > $1 AND merged_into IS NULL ORDER BY id LIMIT $2`,
			func(rows *sql.Rows) ([]Doc, []string, error) {
				var ts []*ticket.Ticket
				var ids []string
				for rows.Next() {
					t := &ticket.Ticket{}
					if err := rows.Scan(&t.ID, &t.Number, &t.Subject, &t.OrderNumber); err != nil {
						return nil, nil, err
					}
					ts, ids = append(ts, t), append(ids, t.ID)
				}
				if err := rows.Err(); err != nil {
					return nil, nil, err
				}
				tags, err := database.GroupStrings(ctx, s.DB.Read, `SELECT CAST(ticket_id AS text), tag FROM ticket_tags WHERE ticket_id IN (%s) ORDER BY tag`, ids)
				if err != nil {
					return nil, nil, err
				}
				docs := make([]Doc, len(ts))
				for i, t := range ts {
					t.Tags = tags[t.ID]
					docs[i] = ticketDoc(t)
				}
				return docs, ids, nil
			}},
		{Messages, `SELECT CAST(id AS text), body_text FROM messages WHERE id > $1 AND kind <> 'event' ORDER BY id LIMIT $2`,
			func(rows *sql.Rows) ([]Doc, []string, error) {
				var docs []Doc
				var ids []string
				for rows.Next() {
					var id, text string
					if err := rows.Scan(&id, &text); err != nil {
						return nil, nil, err
					}
					docs, ids = append(docs, Doc{Kind: Messages, ID: id, Text: []string{text}}), append(ids, id)
				}
				return docs, ids, rows.Err()
			}},
		{Customers, `SELECT CAST(id AS text), name FROM customers WHERE id > $1 AND merged_into IS NULL ORDER BY id LIMIT $2`,
			func(rows *sql.Rows) ([]Doc, []string, error) {
				names := map[string]string{}
				var ids []string
				for rows.Next() {
					var id, name string
					if err := rows.Scan(&id, &name); err != nil {
						return nil, nil, err
					}
					names[id], ids = name, append(ids, id)
				}
				if err := rows.Err(); err != nil {
					return nil, nil, err
				}
				idents, err := identities(ctx, s.DB.Read, ids)
				if err != nil {
					return nil, nil, err
				}
				docs := make([]Doc, len(ids))
				for i, id := range ids {
					docs[i] = customerDoc(id, names[id], idents[id])
				}
				return docs, ids, nil
			}},
	} {
		// The nil UUID sorts before every id on both engines.
		after := "00000000-0000-0000-0000-000000000000"
		for {
			rows, err := s.DB.Read.QueryContext(ctx, step.q, after, reindexBatch)
			if err != nil {
				return total, fmt.Errorf("search: reindex %s: %w", step.kind, err)
			}
			docs, ids, err := step.docs(rows)
			rows.Close()
			if err != nil {
				return total, fmt.Errorf("search: reindex %s: %w", step.kind, err)
			}
			if len(ids) == 0 {
				break
			}
			if err := s.DB.InTx(ctx, func(tx *sql.Tx) error { return s.Index.Put(ctx, tx, docs...) }); err != nil {
				return total, err
			}
			total += len(docs)
			after = ids[len(ids)-1]
		}
	}
	// Documents whose subject is gone: tickets and customers merged away,
	// or rows removed behind the services' back.
	for _, q := range []string{
		`DELETE FROM search_docs WHERE kind = 'tickets' AND entity_id NOT IN (SELECT id FROM tickets WHERE merged_into IS NULL)`,
		`DELETE FROM search_docs WHERE kind = 'messages' AND entity_id NOT IN (SELECT id FROM messages WHERE kind <> 'event')`,
		`DELETE FROM search_docs WHERE kind = 'customers' AND entity_id NOT IN (SELECT id FROM customers WHERE merged_into IS NULL)`,
	} {
		if _, err := s.DB.Write.ExecContext(ctx, q); err != nil {
			return total, fmt.Errorf("search: reindex: %w", err)
		}
	}
	return total, nil
}
