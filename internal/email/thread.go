package email

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"

	"github.com/kefu-desk/kefu/internal/customer"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// subjectKey finds a ticket key in a subject: "[KF-10234]" as Kefu
// writes it, or a bare KF-10234 a customer typed.
var subjectKey = regexp.MustCompile(`(?i)(?:^|[^a-z0-9])KF-(\d{1,15})(?:[^0-9]|$)`)

// thread finds the ticket a mail answers, and whether it is closed:
//
//  1. a ticket key in the subject, if the sender is that ticket's
//     customer (anyone can type a key; only the customer may write into
//     the ticket that way);
//  2. else In-Reply-To, then References newest first, against every
//     Message-ID Kefu has stored (customer mail) or sent (replies,
//     acknowledgements, notices).
//
// "" means a new ticket.
func (s *Inbound) thread(ctx context.Context, m *Message, c *customer.Customer) (id string, closed bool, err error) {
	if sub := subjectKey.FindStringSubmatch(m.Subject); sub != nil && c != nil {
		n, _ := strconv.ParseInt(sub[1], 10, 64)
		var custID string
		err := s.DB.Read.QueryRowContext(ctx, `SELECT CAST(id AS text), CAST(customer_id AS text) FROM tickets WHERE number = $1`, n).
			Scan(&id, &custID)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return "", false, fmt.Errorf("email: thread by key: %w", err)
		}
		if err == nil && custID == c.ID {
			closed, err = isClosed(ctx, s.DB.Read, id)
			return id, closed, err
		}
	}
	refs := slices.Clone(m.References)
	slices.Reverse(refs)
	if m.InReplyTo != "" {
		refs = append([]string{m.InReplyTo}, refs...)
	}
	id, err = s.ticketOf(ctx, refs)
	if err != nil || id == "" {
		return "", false, err
	}
	closed, err = isClosed(ctx, s.DB.Read, id)
	return id, closed, err
}

// isClosed reports whether a ticket, or the one it was merged into (a
// merged ticket is closed but forwards what it receives), is closed.
func isClosed(ctx context.Context, q database.Querier, id string) (bool, error) {
	var status ticket.Status
	err := q.QueryRowContext(ctx, `SELECT COALESCE(m.status, t.status) FROM tickets t LEFT JOIN tickets m ON m.id = t.merged_into
		WHERE t.id = $1`, id).Scan(&status)
	return status == ticket.Closed, err
}

// ticketOf returns the ticket of the first Message-ID in ids that Kefu
// knows, or "".
func (s *Inbound) ticketOf(ctx context.Context, ids []string) (string, error) {
	ids = slices.DeleteFunc(slices.Clone(ids), func(s string) bool { return s == "" })
	if len(ids) > 50 {
		ids = ids[:50] // a References header can be long; the newest matter
	}
	if len(ids) == 0 {
		return "", nil
	}
	args := make([]any, len(ids))
	for i, v := range ids {
		args[i] = v
	}
	in := database.Placeholders(1, len(ids))
	rows, err := s.DB.Read.QueryContext(ctx, `SELECT external_id, CAST(ticket_id AS text) FROM messages WHERE external_id IN (`+in+`)
		UNION ALL SELECT message_id, CAST(ticket_id AS text) FROM outbound_mail WHERE ticket_id IS NOT NULL AND message_id IN (`+in+`)`, args...)
	if err != nil {
		return "", fmt.Errorf("email: thread by reference: %w", err)
	}
	defer rows.Close()
	found := map[string]string{}
	for rows.Next() {
		var ext, tid string
		if err := rows.Scan(&ext, &tid); err != nil {
			return "", err
		}
		found[ext] = tid
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	for _, v := range ids {
		if tid, ok := found[v]; ok {
			return tid, nil
		}
	}
	return "", nil
}
