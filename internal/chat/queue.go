package chat

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/events"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// Accept gives the signed-in agent a queued chat: its ticket is assigned
// to them, through the ticket service, and the conversation becomes
// active. When two agents accept at once, one gets a Conflict.
func (s *Service) Accept(ctx context.Context, ticketID string) (*Conversation, error) {
	a := audit.ActorOf(ctx)
	if a.Kind != kefu.ActorStaff || !a.CanWrite() {
		return nil, kefu.Errorf(kefu.Forbidden, "only agents may accept chats")
	}
	t, err := s.Tickets.Get(ctx, ticketID)
	if err != nil {
		return nil, err
	}
	conv, err := convByTicket(ctx, s.DB.Read, t.ID)
	if err != nil {
		return nil, err
	}
	if conv == nil {
		return nil, kefu.Errorf(kefu.NotFound, "%s is not a live chat", t.Key)
	}
	if t.AssigneeID == a.ID {
		// Already theirs (a visitor came back to them): nothing changes on
		// the ticket, so no hook runs; the conversation moves here.
		err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
			cur, err := getConv(ctx, tx, `c.id = $1`, conv.ID)
			if err != nil {
				return err
			}
			return s.accept(ctx, tx, cur, a.ID)
		})
	} else {
		me := a.ID
		_, err = s.Tickets.Update(context.WithValue(ctx, acceptKey{}, true), t.ID, 0, ticket.Patch{AssigneeID: &me})
	}
	if err != nil {
		return nil, err
	}
	return getConv(ctx, s.DB.Write, `c.id = $1`, conv.ID)
}

// EndByVisitor ends the visitor's chat. The ticket stays as it is: the
// agent decides whether it is solved.
func (s *Service) EndByVisitor(ctx context.Context, v *Visitor) (*Conversation, error) {
	conv, err := s.conversationOf(ctx, v.ID)
	if err != nil {
		return nil, err
	}
	if conv == nil {
		return nil, kefu.Errorf(kefu.NotFound, "there is no chat to end")
	}
	return s.end(ctx, conv)
}

// EndByAgent ends a chat from the console without solving its ticket.
func (s *Service) EndByAgent(ctx context.Context, ticketID string) (*Conversation, error) {
	if !audit.ActorOf(ctx).CanWrite() {
		return nil, kefu.Errorf(kefu.Forbidden, "your role may not end chats")
	}
	conv, err := s.ConversationByTicket(ctx, ticketID)
	if err != nil {
		return nil, err
	}
	if conv == nil {
		return nil, kefu.Errorf(kefu.NotFound, "this ticket is not a live chat")
	}
	return s.end(ctx, conv)
}

func (s *Service) end(ctx context.Context, conv *Conversation) (*Conversation, error) {
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		cur, err := getConv(ctx, tx, `c.id = $1`, conv.ID)
		if err != nil {
			return err
		}
		if cur.State == Ended || cur.State == Offline {
			return nil
		}
		return s.setState(ctx, tx, cur, Ended, cur.AgentID)
	})
	if err != nil {
		return nil, err
	}
	return getConv(ctx, s.DB.Write, `c.id = $1`, conv.ID)
}

// Queue lists the chats waiting for an agent that the actor may see,
// longest waiting first.
func (s *Service) Queue(ctx context.Context, limit int) ([]QueueItem, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	all, err := s.queuedIDs(ctx)
	if err != nil {
		return nil, err
	}
	pos := make(map[string]int, len(all))
	for i, id := range all {
		pos[id] = i + 1
	}
	cond, args := ticket.VisibleCondition(audit.ActorOf(ctx), 0)
	out, err := s.items(ctx, `c.state = 'queued' AND `+cond+fmt.Sprintf(` ORDER BY c.queued_at, c.id LIMIT %d`, limit), args...)
	for i := range out {
		out[i].Position = pos[out[i].ID]
	}
	return out, err
}

// Mine lists the actor's active chats, most recently active first.
func (s *Service) Mine(ctx context.Context) ([]QueueItem, error) {
	return s.items(ctx, `c.agent_id = $1 AND c.state = 'active' ORDER BY c.updated_at DESC LIMIT 100`, audit.ActorOf(ctx).ID)
}

// items lists conversations matching where (on aliases c and t) with
// what the console shows of each.
func (s *Service) items(ctx context.Context, where string, args ...any) ([]QueueItem, error) {
	rows, err := s.DB.Read.QueryContext(ctx, `SELECT `+convColumns+`, cu.name, t.subject, t.order_number,
		COALESCE(CAST(t.department_id AS text), '')`+convFrom+`JOIN customers cu ON cu.id = t.customer_id WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("chat: list: %w", err)
	}
	defer rows.Close()
	out := []QueueItem{}
	for rows.Next() {
		var q QueueItem
		c, err := scanConv(rows, &q.CustomerName, &q.Subject, &q.OrderNumber, &q.DepartmentID)
		if err != nil {
			return nil, err
		}
		q.Conversation = *c
		out = append(out, q)
	}
	return out, rows.Err()
}

// queuedIDs lists every queued conversation in queue order.
func (s *Service) queuedIDs(ctx context.Context) ([]string, error) {
	rows, err := s.DB.Read.QueryContext(ctx, `SELECT CAST(id AS text) FROM chat_conversations WHERE state = 'queued' ORDER BY queued_at, id`)
	if err != nil {
		return nil, fmt.Errorf("chat: queue: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// waitWindow and waitSamples bound the accepts the expected wait is
// estimated from: the recent ones, as the queue moves now.
const (
	waitWindow  = 2 * time.Hour
	waitSamples = 20
)

// Positions returns the place and expected wait of every queued
// conversation, by conversation id: one query for the whole queue, so a
// thousand waiting visitors cost the same as one.
func (s *Service) Positions(ctx context.Context) (map[string]Position, error) {
	ids, err := s.queuedIDs(ctx)
	if err != nil {
		return nil, err
	}
	samples, err := s.recentWaits(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Position, len(ids))
	for i, id := range ids {
		p := Position{Position: i + 1}
		p.Wait, p.Known = estimateWait(samples, p.Position)
		out[id] = p
	}
	return out, nil
}

func (s *Service) recentWaits(ctx context.Context) ([]waitSample, error) {
	rows, err := s.DB.Read.QueryContext(ctx, `SELECT queued_at, accepted_at FROM chat_waits WHERE accepted_at > $1
		ORDER BY accepted_at DESC LIMIT `+fmt.Sprint(waitSamples), s.Now().Add(-waitWindow))
	if err != nil {
		return nil, fmt.Errorf("chat: waits: %w", err)
	}
	defer rows.Close()
	var out []waitSample
	for rows.Next() {
		var q, a time.Time
		if err := rows.Scan(&q, &a); err != nil {
			return nil, err
		}
		out = append(out, waitSample{Waited: a.Sub(q), AcceptedAt: a})
	}
	return out, rows.Err()
}

// ReadByVisitor records that the visitor has read up to seq.
func (s *Service) ReadByVisitor(ctx context.Context, v *Visitor, seq int64) error {
	conv, err := s.conversationOf(ctx, v.ID)
	if err != nil || conv == nil {
		return err
	}
	return s.read(ctx, conv, ByVisitor, "visitor_read_seq", seq, false)
}

// ReadByAgent records that the agents have read the chat up to seq; the
// visitor sees it as "read".
func (s *Service) ReadByAgent(ctx context.Context, ticketID string, seq int64) error {
	conv, err := s.ConversationByTicket(ctx, ticketID)
	if err != nil {
		return err
	}
	if conv == nil {
		return kefu.Errorf(kefu.NotFound, "this ticket is not a live chat")
	}
	return s.read(ctx, conv, audit.ActorOf(ctx).ID, "agent_read_seq", seq, true)
}

func (s *Service) read(ctx context.Context, conv *Conversation, by, column string, seq int64, public bool) error {
	if seq < 1 {
		return kefu.Fieldf("seq", "must be a positive event number")
	}
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		// Only forward, and never past what exists: a read receipt is
		// recorded once.
		res, err := tx.ExecContext(ctx, `UPDATE chat_conversations SET `+column+` = $2 WHERE id = $1 AND `+column+` < $2 AND last_seq >= $2`,
			conv.ID, seq)
		if err != nil {
			return fmt.Errorf("chat: read: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		_, err = s.appendEvent(ctx, tx, conv, KindRead, public, "", EventData{By: by, Read: seq})
		return err
	})
}

// Typing tells the other side that the visitor is typing (or stopped).
// It is not stored; past the typing rate notices are dropped quietly.
func (s *Service) Typing(ctx context.Context, v *Visitor, typing bool) error {
	conv, err := s.conversationOf(ctx, v.ID)
	if err != nil || conv == nil {
		return err
	}
	if !s.lim().typing.allow(v.ID, s.Now()) {
		return nil
	}
	return s.publishTyping(ctx, conv, ByVisitor, typing)
}

// AgentTyping tells the visitor of a chat ticket that an agent is typing.
func (s *Service) AgentTyping(ctx context.Context, ticketID string, typing bool) error {
	conv, err := convByTicket(ctx, s.DB.Read, ticketID)
	if err != nil || conv == nil {
		return err
	}
	return s.publishTyping(ctx, conv, audit.ActorOf(ctx).ID, typing)
}

func (s *Service) publishTyping(ctx context.Context, conv *Conversation, by string, typing bool) error {
	d := "off"
	if typing {
		d = "on"
	}
	return s.Bus.Publish(ctx, events.Event{Topic: events.Chat, Kind: busTyping, TicketID: conv.TicketID, Conv: conv.ID, By: by, Detail: d})
}

// VisitorPresence tells the console that the visitor's widget connected
// or went away.
func (s *Service) VisitorPresence(ctx context.Context, conv *Conversation, here bool) {
	d := "off"
	if here {
		d = "on"
	}
	if err := s.Bus.Publish(ctx, events.Event{Topic: events.Chat, Kind: busVisitor, TicketID: conv.TicketID, Conv: conv.ID, Detail: d}); err != nil {
		s.log().Debug("chat: visitor presence", "err", err)
	}
}

// AskVisitor asks every instance whether the conversation's visitor has
// the widget open; the one holding their stream answers through
// VisitorPresence.
func (s *Service) AskVisitor(ctx context.Context, conv *Conversation) {
	if err := s.Bus.Publish(ctx, events.Event{Topic: events.Chat, Kind: busVisitor, TicketID: conv.TicketID, Conv: conv.ID, Detail: "ask"}); err != nil {
		s.log().Debug("chat: ask visitor", "err", err)
	}
}

// ConsoleNotice says what a chat notice means to consoles that are not on
// the chat's page: "queue:<ticket id>" when the queue changed,
// "message:<ticket id>" when a visitor wrote; false for the rest.
func ConsoleNotice(e events.Event) (string, bool) {
	switch {
	case e.Topic != events.Chat:
	case e.Kind == busQueue:
		return "queue:" + e.TicketID, true
	case e.Kind == busStored && e.Detail == KindMessage && e.By == ByVisitor:
		return "message:" + e.TicketID, true
	}
	return "", false
}
