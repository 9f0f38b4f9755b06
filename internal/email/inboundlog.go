package email

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/blob"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// The inbound log: one inbound_mail row per mail received, written in the
// transaction of what the mail became, and what admins list.

// Received is one entry of the inbound log.
type Received struct {
	ID         string    `json:"id"`
	MailboxID  string    `json:"mailbox_id,omitempty"`
	Source     string    `json:"source" enum:"imap,smtp,api"`
	MessageID  string    `json:"message_id" doc:"The mail's Message-ID, without angle brackets"`
	From       string    `json:"from"`
	Subject    string    `json:"subject"`
	RawSHA256  string    `json:"raw_sha256"`
	RawSize    int64     `json:"raw_size"`
	Outcome    string    `json:"outcome" enum:"new_ticket,message,reopened,follow_up,bounce,auto_reply,blocked,denied,duplicate"`
	TicketID   string    `json:"ticket_id,omitempty"`
	MessageRef string    `json:"ticket_message_id,omitempty" doc:"The ticket message the mail became"`
	Problems   []string  `json:"problems"`
	ReceivedAt time.Time `json:"received_at"`

	// raw is the message itself while it is still to be stored, in the
	// transaction that writes this entry.
	raw *blob.Held
}

// pending carries a mail being stored through the ticket service to the
// hook, which writes its log entry inside the ticket's transaction.
type pending struct {
	rec        *Received
	key        string
	externalID string
	auto       bool
	bounce     bool
	threaded   bool
	lang       string
	done       bool
}

type pendingKey struct{}

// TicketChanged writes the inbound log entry of the mail being stored, in
// the transaction of the ticket message it became; a second delivery of
// the same mail fails here (unique key) and so stores nothing. It also
// enqueues the acknowledgement of a new ticket.
func (s *Inbound) TicketChanged(ctx context.Context, tx *sql.Tx, c ticket.Change) error {
	p, _ := ctx.Value(pendingKey{}).(*pending)
	if p == nil || p.done || c.Message == nil || c.Message.ExternalID != p.externalID {
		return nil
	}
	p.done = true
	rec := p.rec
	rec.TicketID, rec.MessageRef = c.After.ID, c.Message.ID
	switch {
	case p.bounce:
		rec.Outcome = Bounced
	case p.auto:
		rec.Outcome = AutoReply
	case c.Before == nil && p.threaded:
		rec.Outcome = FollowUp
	case c.Before == nil:
		rec.Outcome = NewTicket
	case (c.Before.Status == ticket.Closed || c.Before.Status == ticket.Solved) && c.After.Status == ticket.Open:
		rec.Outcome = Reopened
	default:
		rec.Outcome = AddedTo
	}
	if _, err := tx.ExecContext(ctx, `UPDATE messages SET raw_sha256 = $2 WHERE id = $1`, c.Message.ID, rec.RawSHA256); err != nil {
		return fmt.Errorf("email: raw link: %w", err)
	}
	if err := insertReceived(ctx, tx, rec, p.key); err != nil {
		return err
	}
	if rec.Outcome == NewTicket && s.Outbound != nil {
		return s.Outbound.acknowledge(ctx, tx, rec.MailboxID, c.After, rec.From, p.lang)
	}
	return nil
}

func insertReceived(ctx context.Context, tx *sql.Tx, r *Received, key string) error {
	if r.Problems == nil {
		r.Problems = []string{}
	}
	if err := r.raw.Store(ctx, tx); err != nil {
		return err
	}
	problems, _ := json.Marshal(r.Problems)
	_, err := tx.ExecContext(ctx, `INSERT INTO inbound_mail (id, dedup_key, mailbox_id, source, message_id, from_address, subject,
		raw_sha256, raw_size, outcome, ticket_id, message_ref, problems, received_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		r.ID, database.Nullable(key), database.Nullable(r.MailboxID), r.Source, r.MessageID, r.From, cutBytes(r.Subject, 1000), r.RawSHA256, r.RawSize,
		r.Outcome, database.Nullable(r.TicketID), database.Nullable(r.MessageRef), string(problems), r.ReceivedAt)
	if isUnique(err) {
		return kefu.Errorf(kefu.Conflict, "mail %s already received", key)
	}
	if err != nil {
		return fmt.Errorf("email: inbound log: %w", err)
	}
	return nil
}

// isUnique recognises a unique violation on either engine without the
// dialect at hand (inside a hook).
func isUnique(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "UNIQUE constraint failed") || strings.Contains(s, "SQLSTATE 23505") || strings.Contains(s, "duplicate key value")
}

// InboundFilter selects inbound log entries.
type InboundFilter struct {
	MailboxID string
	Outcome   string
	TicketID  string
	Before    string // id of the last entry of the previous page
	Limit     int
}

// List returns inbound log entries, newest first (admins only).
func (s *Inbound) List(ctx context.Context, f InboundFilter) ([]*Received, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	where, args := []string{"1=1"}, []any{}
	add := func(cond, v string) {
		if v != "" {
			args = append(args, v)
			where = append(where, fmt.Sprintf(cond, len(args)))
		}
	}
	if f.MailboxID != "" && !kefu.ValidID(f.MailboxID) || f.TicketID != "" && !kefu.ValidID(f.TicketID) || f.Before != "" && !kefu.ValidID(f.Before) {
		return nil, kefu.Fieldf("id", "is not an id")
	}
	add("mailbox_id = $%d", f.MailboxID)
	add("outcome = $%d", f.Outcome)
	add("ticket_id = $%d", f.TicketID)
	add("id < $%d", f.Before)
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	return listReceived(ctx, s.DB.Read, "WHERE "+strings.Join(where, " AND ")+fmt.Sprintf(" ORDER BY id DESC LIMIT %d", f.Limit), args...)
}

// Get returns one inbound log entry (admins only).
func (s *Inbound) Get(ctx context.Context, id string) (*Received, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	if !kefu.ValidID(id) {
		return nil, kefu.Errorf(kefu.NotFound, "no inbound mail %s", id)
	}
	list, err := listReceived(ctx, s.DB.Read, `WHERE id = $1`, id)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, kefu.Errorf(kefu.NotFound, "no inbound mail %s", id)
	}
	return list[0], nil
}

func listReceived(ctx context.Context, q database.Querier, where string, args ...any) ([]*Received, error) {
	rows, err := q.QueryContext(ctx, `SELECT CAST(id AS text), COALESCE(CAST(mailbox_id AS text), ''), source, message_id, from_address,
		subject, raw_sha256, raw_size, outcome, COALESCE(CAST(ticket_id AS text), ''), COALESCE(CAST(message_ref AS text), ''),
		problems, received_at FROM inbound_mail `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("email: inbound log: %w", err)
	}
	defer rows.Close()
	out := []*Received{}
	for rows.Next() {
		var r Received
		var problems string
		if err := rows.Scan(&r.ID, &r.MailboxID, &r.Source, &r.MessageID, &r.From, &r.Subject, &r.RawSHA256, &r.RawSize,
			&r.Outcome, &r.TicketID, &r.MessageRef, &problems, &r.ReceivedAt); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(problems), &r.Problems); err != nil {
			return nil, fmt.Errorf("email: inbound %s problems: %w", r.ID, err)
		}
		r.ReceivedAt = r.ReceivedAt.UTC()
		out = append(out, &r)
	}
	return out, rows.Err()
}

// OpenRaw returns the original of an inbound mail (admins only).
func (s *Inbound) OpenRaw(ctx context.Context, id string) (*Received, io.ReadSeekCloser, error) {
	r, err := s.Get(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	f, err := s.Blobs.Open(ctx, r.RawSHA256)
	return r, f, err
}

// OpenMessageRaw returns the original mail a ticket message came from, if
// the actor may see the ticket.
func (s *Inbound) OpenMessageRaw(ctx context.Context, messageID string) (size int64, f io.ReadSeekCloser, err error) {
	if !kefu.ValidID(messageID) {
		return 0, nil, kefu.Errorf(kefu.NotFound, "no message %s", messageID)
	}
	var ticketID, sum string
	err = s.DB.Read.QueryRowContext(ctx, `SELECT CAST(ticket_id AS text), raw_sha256 FROM messages WHERE id = $1`, messageID).Scan(&ticketID, &sum)
	if errors.Is(err, sql.ErrNoRows) || err == nil && sum == "" {
		return 0, nil, kefu.Errorf(kefu.NotFound, "message %s has no original mail", messageID)
	}
	if err != nil {
		return 0, nil, err
	}
	if _, err := s.Tickets.Get(ctx, ticketID); err != nil {
		return 0, nil, kefu.Errorf(kefu.NotFound, "no message %s", messageID)
	}
	f, err = s.Blobs.Open(ctx, sum)
	if err != nil {
		return 0, nil, err
	}
	size, err = f.Seek(0, io.SeekEnd)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return 0, nil, err
	}
	return size, f, nil
}
