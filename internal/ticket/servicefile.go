package ticket

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/customer"
)

// FileItem is one entry of a customer's service file.
type FileItem struct {
	Kind      string    `json:"kind" enum:"ticket,message,event" doc:"ticket: a ticket was opened; message: any thread entry; event: a change to the customer record"`
	ID        string    `json:"id"`
	At        time.Time `json:"at"`
	TicketID  string    `json:"ticket_id,omitempty"`
	TicketKey string    `json:"ticket_key,omitempty"`
	// Subtype is the message kind (customer, reply, note, event) or the
	// audited action.
	Subtype     string `json:"subtype"`
	Summary     string `json:"summary" doc:"Ticket subject, message text (up to 500 characters) or a description of the change"`
	Channel     string `json:"channel,omitempty"`
	Attachments int    `json:"attachments"`
	OrderNumber string `json:"order_number,omitempty"`
}

// ServiceFile is everything ever exchanged with a customer.
type ServiceFile struct {
	Customer   *customer.Customer `json:"customer"`
	Orders     []string           `json:"orders" doc:"Order numbers the customer's tickets refer to"`
	Items      []FileItem         `json:"items" doc:"Newest first"`
	NextCursor string             `json:"next_cursor"`
}

// File returns a page of a customer's service file, newest first: the
// tickets opened, every message on them and the changes to the customer
// record itself (consents, merges, blocks). Tickets the actor may not see
// are left out.
func (s *Service) File(ctx context.Context, customerID, cursor string, limit int) (*ServiceFile, error) {
	c, err := s.Customers.Get(ctx, customerID)
	if err != nil {
		return nil, err
	}
	if c.MergedInto != "" {
		return s.File(ctx, c.MergedInto, cursor, limit)
	}
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	vis, vargs := visible(audit.ActorOf(ctx), 1)
	args := append([]any{c.ID}, vargs...)
	var page string
	if cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cursor)
		at, id, ok := strings.Cut(string(raw), "|")
		t, perr := time.Parse(time.RFC3339Nano, at)
		if err != nil || !ok || perr != nil || !kefu.ValidID(id) {
			return nil, kefu.Fieldf("cursor", "is not a cursor from a previous page")
		}
		args = append(args, t.UTC(), id)
		page = fmt.Sprintf("WHERE at < $%d OR (at = $%d AND id < $%d)", len(args)-1, len(args)-1, len(args))
	}
	q := `SELECT kind, id, at, ticket_id, number, subtype, summary, channel, attachments, order_number FROM (
		SELECT 'ticket' AS kind, CAST(t.id AS text) AS id, t.created_at AS at, CAST(t.id AS text) AS ticket_id, t.number,
			t.status AS subtype, t.subject AS summary, t.channel, 0 AS attachments, t.order_number
		FROM tickets t WHERE t.customer_id = $1 AND ` + vis + `
		UNION ALL
		SELECT 'message', CAST(m.id AS text), m.created_at, CAST(t.id AS text), t.number, m.kind, SUBSTR(m.body_text, 1, 500), m.channel,
			(SELECT count(*) FROM attachments a WHERE a.message_id = m.id), ''
		FROM messages m JOIN tickets t ON t.id = m.ticket_id WHERE t.customer_id = $1 AND ` + vis + `
		UNION ALL
		SELECT 'event', CAST(a.id AS text), a.at, '', 0, a.action, a.changes, '', 0, ''
		FROM audit_log a WHERE a.customer_id = $1 AND a.entity = 'customer'
	) AS file ` + page + fmt.Sprintf(` ORDER BY at DESC, id DESC LIMIT %d`, limit+1)
	rows, err := s.DB.Read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("ticket: service file: %w", err)
	}
	defer rows.Close()
	f := &ServiceFile{Customer: c, Items: []FileItem{}, Orders: []string{}}
	for rows.Next() {
		var it FileItem
		var number int64
		if err := rows.Scan(&it.Kind, &it.ID, &it.At, &it.TicketID, &number, &it.Subtype, &it.Summary, &it.Channel, &it.Attachments, &it.OrderNumber); err != nil {
			return nil, fmt.Errorf("ticket: service file: %w", err)
		}
		if number > 0 {
			it.TicketKey = Key(number)
		}
		it.At = it.At.UTC()
		f.Items = append(f.Items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(f.Items) > limit {
		f.Items = f.Items[:limit]
		last := f.Items[limit-1]
		f.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(last.At.Format(time.RFC3339Nano) + "|" + last.ID))
	}
	rows, err = s.DB.Read.QueryContext(ctx, `SELECT DISTINCT order_number FROM tickets WHERE customer_id = $1 AND order_number <> '' ORDER BY order_number`, c.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var o string
		if err := rows.Scan(&o); err != nil {
			return nil, err
		}
		f.Orders = append(f.Orders, o)
	}
	return f, rows.Err()
}
