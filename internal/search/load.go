package search

import (
	"context"
	"fmt"
	"strings"

	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// load reads what results show for identifier hits then text hits of
// kind k, in that order, and appends them to res. The index answers with
// ids only, so another engine could stand behind it; the rows come from
// the tables, one query per kind.
func (s *Service) load(ctx context.Context, res *Results, k Kind, idents []identHit, textIDs []string, terms []Term) error {
	by := make(map[string]string, len(idents)+len(textIDs))
	ids := make([]string, 0, len(idents)+len(textIDs))
	for _, h := range idents {
		by[h.id] = h.by
		ids = append(ids, h.id)
	}
	for _, id := range textIDs {
		if _, dup := by[id]; !dup {
			by[id] = "text"
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	in := database.Placeholders(1, len(ids))
	switch k {
	case Tickets:
		got := map[string]TicketHit{}
		err := s.each(ctx, `SELECT CAST(t.id AS text), t.number, t.subject, t.status, t.order_number, CAST(t.customer_id AS text),
			t.created_at, t.updated_at FROM tickets t WHERE t.id IN (`+in+`)`, args, func(scan func(...any) error) error {
			var h TicketHit
			var number int64
			if err := scan(&h.ID, &number, &h.Subject, &h.Status, &h.OrderNumber, &h.CustomerID, &h.CreatedAt, &h.UpdatedAt); err != nil {
				return err
			}
			h.Key, h.MatchedBy = ticket.Key(number), by[h.ID]
			h.CreatedAt, h.UpdatedAt = h.CreatedAt.UTC(), h.UpdatedAt.UTC()
			h.Snippet = snippet(h.Subject, terms, subjectWidth)
			got[h.ID] = h
			return nil
		})
		res.Tickets = append(res.Tickets, inOrder(ids, got)...)
		return err
	case Messages:
		got := map[string]MessageHit{}
		err := s.each(ctx, `SELECT CAST(m.id AS text), CAST(m.ticket_id AS text), t.number, t.subject, m.kind, m.created_at, m.body_text
			FROM messages m JOIN tickets t ON t.id = m.ticket_id WHERE m.id IN (`+in+`)`, args, func(scan func(...any) error) error {
			var h MessageHit
			var number int64
			var text string
			if err := scan(&h.ID, &h.TicketID, &number, &h.TicketSubject, &h.Kind, &h.CreatedAt, &text); err != nil {
				return err
			}
			h.TicketKey, h.CreatedAt = ticket.Key(number), h.CreatedAt.UTC()
			h.Snippet = snippet(text, terms, excerptWidth)
			got[h.ID] = h
			return nil
		})
		res.Messages = append(res.Messages, inOrder(ids, got)...)
		return err
	case Customers:
		idents, err := identities(ctx, s.DB.Read, ids)
		if err != nil {
			return err
		}
		got := map[string]CustomerHit{}
		err = s.each(ctx, `SELECT CAST(c.id AS text), c.name FROM customers c WHERE c.id IN (`+in+`)`, args, func(scan func(...any) error) error {
			var h CustomerHit
			if err := scan(&h.ID, &h.Name); err != nil {
				return err
			}
			h.Identities, h.MatchedBy = idents[h.ID], by[h.ID]
			if h.Identities == nil {
				h.Identities = []string{}
			}
			h.Snippet = snippet(strings.Join(append([]string{h.Name}, h.Identities...), " · "), terms, excerptWidth)
			got[h.ID] = h
			return nil
		})
		res.Customers = append(res.Customers, inOrder(ids, got)...)
		return err
	}
	return nil
}

// inOrder lists the hits of got in the order of ids, leaving out ids
// that have none (one gone since the index found it).
func inOrder[H any](ids []string, got map[string]H) []H {
	out := make([]H, 0, len(got))
	for _, id := range ids {
		if h, ok := got[id]; ok {
			out = append(out, h)
		}
	}
	return out
}

// each runs a query on the read pool and calls row for every row.
func (s *Service) each(ctx context.Context, q string, args []any, row func(scan func(...any) error) error) error {
	rows, err := s.DB.Read.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("search: load: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows.Scan); err != nil {
			return fmt.Errorf("search: load: %w", err)
		}
	}
	return rows.Err()
}

// identities returns the identity values (emails, phones, WeChat ids) of
// customers, oldest first.
func identities(ctx context.Context, q database.Querier, ids []string) (map[string][]string, error) {
	m, err := database.GroupStrings(ctx, q, `SELECT CAST(customer_id AS text), value FROM customer_identities
		WHERE customer_id IN (%s) ORDER BY created_at, id`, ids)
	if err != nil {
		return nil, fmt.Errorf("search: identities: %w", err)
	}
	return m, nil
}
