package chat

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/events"
	"github.com/kefu-desk/kefu/internal/ticket"
)

const visitorColumns = `CAST(id AS text), COALESCE(shop_customer_id, ''), COALESCE(CAST(customer_id AS text), ''), name, email, phone, language`

func scanVisitor(row interface{ Scan(...any) error }) (*Visitor, error) {
	var v Visitor
	err := row.Scan(&v.ID, &v.ShopCustomerID, &v.CustomerID, &v.Name, &v.Email, &v.Phone, &v.Language)
	return &v, err
}

func getVisitor(ctx context.Context, q database.Querier, where string, args ...any) (*Visitor, error) {
	v, err := scanVisitor(q.QueryRowContext(ctx, `SELECT `+visitorColumns+` FROM chat_visitors WHERE `+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("chat: visitor: %w", err)
	}
	return v, nil
}

const convColumns = `CAST(c.id AS text), CAST(c.visitor_id AS text), CAST(c.ticket_id AS text), t.number, c.state,
	COALESCE(CAST(c.agent_id AS text), ''), c.last_seq, c.visitor_seq, c.visitor_read_seq, c.agent_read_seq, c.queued_at,
	c.page_url, c.created_at, c.updated_at`

const convFrom = ` FROM chat_conversations c JOIN tickets t ON t.id = c.ticket_id `

func scanConv(row interface{ Scan(...any) error }, extra ...any) (*Conversation, error) {
	var c Conversation
	var number int64
	var queued sql.NullTime
	dest := append([]any{&c.ID, &c.VisitorID, &c.TicketID, &number, &c.State, &c.AgentID, &c.LastSeq, &c.VisitorSeq,
		&c.VisitorReadSeq, &c.AgentReadSeq, &queued, &c.PageURL, &c.CreatedAt, &c.UpdatedAt}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	c.TicketKey = ticket.Key(number)
	if queued.Valid {
		t := queued.Time.UTC()
		c.QueuedAt = &t
	}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return &c, nil
}

// getConv returns the conversation matching where (on alias c), or nil.
func getConv(ctx context.Context, q database.Querier, where string, args ...any) (*Conversation, error) {
	c, err := scanConv(q.QueryRowContext(ctx, `SELECT `+convColumns+convFrom+`WHERE `+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("chat: conversation: %w", err)
	}
	return c, nil
}

func convByTicket(ctx context.Context, q database.Querier, ticketID string) (*Conversation, error) {
	if !kefu.ValidID(ticketID) {
		return nil, nil
	}
	return getConv(ctx, q, `c.ticket_id = $1`, ticketID)
}

// appendEvent numbers and stores the conversation's next event in tx,
// and has a notice of it sent to every instance once tx commits. The
// conversation row stays locked until then, so its events commit in
// the order of their numbers.
//
// The notice carries the event's kind, and By "visitor" for the visitor's
// messages, so consoles can alert on those without reading anything.
func (s *Service) appendEvent(ctx context.Context, tx *sql.Tx, c *Conversation, kind string, public bool, messageID string, d EventData) (int64, error) {
	return s.appendEventBy(ctx, tx, c, kind, public, messageID, d, "")
}

func (s *Service) appendEventBy(ctx context.Context, tx *sql.Tx, c *Conversation, kind string, public bool, messageID string, d EventData, by string) (int64, error) {
	now := s.Now()
	var seq int64
	// A visitor's message is also the newest thing agents have to read.
	err := tx.QueryRowContext(ctx, `UPDATE chat_conversations SET last_seq = last_seq + 1, updated_at = $2,
		visitor_seq = CASE WHEN $3 THEN last_seq + 1 ELSE visitor_seq END WHERE id = $1 RETURNING last_seq`,
		c.ID, now, kind == KindMessage && by == ByVisitor).Scan(&seq)
	if err != nil {
		return 0, fmt.Errorf("chat: number event: %w", err)
	}
	data, _ := json.Marshal(d)
	_, err = tx.ExecContext(ctx, `INSERT INTO chat_events (conversation_id, seq, kind, public, message_id, data, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, c.ID, seq, kind, public, database.Nullable(messageID), string(data), now)
	if err != nil {
		return 0, fmt.Errorf("chat: store event: %w", err)
	}
	c.LastSeq = seq
	if kind == KindMessage && by == ByVisitor {
		c.VisitorSeq = seq
	}
	return seq, s.Bus.PublishTx(ctx, tx, events.Event{Topic: events.Chat, Kind: busStored, TicketID: c.TicketID, Conv: c.ID, Seq: seq,
		Detail: kind, By: by})
}

// queueChanged tells every instance, once tx commits, that queue
// positions and counts moved.
func (s *Service) queueChanged(ctx context.Context, tx *sql.Tx, c *Conversation) error {
	return s.Bus.PublishTx(ctx, tx, events.Event{Topic: events.Chat, Kind: busQueue, TicketID: c.TicketID, Conv: c.ID})
}

// storedEvents reads a conversation's events numbered after after, oldest
// first, at most limit; publicOnly leaves out what only agents see.
func storedEvents(ctx context.Context, q database.Querier, convID string, after int64, publicOnly bool, limit int) ([]Event, []string, error) {
	where := `conversation_id = $1 AND seq > $2`
	if publicOnly {
		where += ` AND public`
	}
	rows, err := q.QueryContext(ctx, `SELECT seq, kind, public, COALESCE(CAST(message_id AS text), ''), data, created_at
		FROM chat_events WHERE `+where+fmt.Sprintf(` ORDER BY seq LIMIT %d`, limit), convID, after)
	if err != nil {
		return nil, nil, fmt.Errorf("chat: events: %w", err)
	}
	defer rows.Close()
	var out []Event
	var msgIDs []string
	for rows.Next() {
		var e Event
		var msgID, data string
		if err := rows.Scan(&e.Seq, &e.Kind, &e.Public, &msgID, &data, &e.At); err != nil {
			return nil, nil, err
		}
		e.At = e.At.UTC()
		if err := json.Unmarshal([]byte(data), &e.Data); err != nil {
			return nil, nil, fmt.Errorf("chat: event %d data: %w", e.Seq, err)
		}
		if msgID != "" {
			e.Message = &ticket.Message{ID: msgID}
			msgIDs = append(msgIDs, msgID)
		}
		out = append(out, e)
	}
	return out, msgIDs, rows.Err()
}

func staffName(ctx context.Context, q database.Querier, id string) (string, error) {
	if id == "" {
		return "", nil
	}
	var name string
	err := q.QueryRowContext(ctx, `SELECT name FROM staff WHERE id = $1`, id).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return name, err
}

// staffNames maps staff ids to names.
func staffNames(ctx context.Context, q database.Querier, ids []string) (map[string]string, error) {
	out := map[string]string{}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := q.QueryContext(ctx, `SELECT CAST(id AS text), name FROM staff WHERE id IN (`+database.Placeholders(1, len(ids))+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("chat: staff names: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, err
		}
		out[id] = name
	}
	return out, rows.Err()
}

func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return *t
}
