package search

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/kefu-desk/kefu/internal/ticket"
)

// TicketChanged indexes a new or changed ticket and the message added with
// the change, inside the change's transaction (ticket.Hook). Messages are
// never edited, and merges move them by ticket_id, which search joins on,
// so a message is indexed once. Events are Kefu's own lines about changes
// and are not indexed; customer messages, replies and notes are.
func (s *Service) TicketChanged(ctx context.Context, tx *sql.Tx, c ticket.Change) error {
	var docs []Doc
	switch b, a := c.Before, c.After; {
	case a.MergedInto != "":
		// Merged away: found through the ticket it was merged into, as
		// ticket lists leave it out too.
		if err := s.Index.Delete(ctx, tx, Tickets, a.ID); err != nil {
			return err
		}
	case b == nil || b.Subject != a.Subject || b.OrderNumber != a.OrderNumber || !slices.Equal(b.Tags, a.Tags):
		docs = append(docs, ticketDoc(a))
	}
	if m := c.Message; m != nil && m.Kind != ticket.Event {
		docs = append(docs, Doc{Kind: Messages, ID: m.ID, Text: []string{m.Text}})
	}
	if len(docs) == 0 {
		return nil
	}
	return s.Index.Put(ctx, tx, docs...)
}

// ticketDoc is what a ticket is found by besides its messages: the key
// (kf 10234), subject, order number and tags.
func ticketDoc(t *ticket.Ticket) Doc {
	return Doc{Kind: Tickets, ID: t.ID, Text: append([]string{ticket.Key(t.Number), t.Subject, t.OrderNumber}, t.Tags...)}
}

// CustomerChanged indexes a customer's name and identities inside the
// change's transaction (customer.Hook); a customer merged into another
// leaves the index, its identities having moved to the target.
func (s *Service) CustomerChanged(ctx context.Context, tx *sql.Tx, id string) error {
	var name string
	var merged bool
	err := tx.QueryRowContext(ctx, `SELECT name, merged_into IS NOT NULL FROM customers WHERE id = $1`, id).Scan(&name, &merged)
	if errors.Is(err, sql.ErrNoRows) || merged {
		return s.Index.Delete(ctx, tx, Customers, id)
	}
	if err != nil {
		return fmt.Errorf("search: customer: %w", err)
	}
	idents, err := identities(ctx, tx, []string{id})
	if err != nil {
		return err
	}
	return s.Index.Put(ctx, tx, customerDoc(id, name, idents[id]))
}

func customerDoc(id, name string, identities []string) Doc {
	return Doc{Kind: Customers, ID: id, Text: append([]string{name}, identities...)}
}
