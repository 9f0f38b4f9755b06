package chat

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/kefu-desk/kefu/internal/database"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// start travels with the ticket a visitor's first message creates, so the
// hook opens the conversation in the ticket's own transaction.
type startKey struct{}

type start struct {
	visitorID string
	state     State
	pageURL   string
}

// resumeKey carries the state a visitor's message moves an ended or
// offline conversation to.
type resumeKey struct{}

// acceptKey marks an assignment made by Accept: it must find the chat
// still queued, so two agents accepting at once cannot both have it.
type acceptKey struct{}

// errStarted: the visitor's conversation was opened by a concurrent
// request; Send retries as a message to it.
var errStarted = errors.New("chat: the conversation was started concurrently")

// sentKey carries a *Sent for the hook to fill with the visitor's
// message number and the conversation as it now stands, sparing Send
// reading them back.
type sentKey struct{}

// TicketChanged implements ticket.Hook: in the transaction of every change
// to a ticket with a conversation (a chat ticket, or the ticket a chat was
// merged into) it records the conversation's next events (the message, a
// state change, an assignment) and moves its state.
func (s *Service) TicketChanged(ctx context.Context, tx *sql.Tx, c ticket.Change) error {
	conv, opened, err := s.hookConversation(ctx, tx, c)
	if err != nil || conv == nil {
		return err
	}
	if out, ok := ctx.Value(sentKey{}).(*Sent); ok {
		defer func() {
			cur := *conv
			out.Conversation = &cur
		}()
	}
	recorded := false
	if m := c.Message; m != nil {
		public := (m.Kind == ticket.FromCustomer || m.Kind == ticket.Reply) && !m.Automated
		by := ""
		if m.Kind == ticket.FromCustomer {
			by = ByVisitor
		}
		seq, err := s.appendEventBy(ctx, tx, conv, KindMessage, public, m.ID, EventData{}, by)
		if err != nil {
			return err
		}
		recorded = true
		if m.Kind == ticket.FromCustomer {
			if out, ok := ctx.Value(sentKey{}).(*Sent); ok {
				out.Seq = seq
			}
			if next, ok := ctx.Value(resumeKey{}).(State); ok && next != conv.State {
				if err := s.setState(ctx, tx, conv, next, conv.AgentID); err != nil {
					return err
				}
			}
		}
		if m.Kind == ticket.Reply && conv.State == Offline && s.Mail != nil {
			// The visitor left a message and an address: the answer goes
			// there too, as on any ticket answered by email.
			if err := s.Mail.MailReply(ctx, tx, c); err != nil {
				return err
			}
		}
	}
	if opened {
		// After the message: the visitor reads what they wrote, then
		// "you are in the queue".
		if err := s.stateEvent(ctx, tx, conv); err != nil {
			return err
		}
		if conv.State == Queued {
			return s.queueChanged(ctx, tx, conv)
		}
		return nil
	}
	if c.Before != nil {
		done, err := s.followChange(ctx, tx, conv, c)
		if err != nil {
			return err
		}
		recorded = recorded || done
	}
	if !recorded && c.Before != nil {
		// Anything else (priority, tags, a note-less status change) only
		// makes the console re-read.
		_, err := s.appendEvent(ctx, tx, conv, KindChanged, false, "", EventData{})
		return err
	}
	return nil
}

// hookConversation is the conversation a change belongs to: opened now
// for a visitor's first message, moved to a closed ticket's follow-up,
// or the ticket's own.
func (s *Service) hookConversation(ctx context.Context, tx *sql.Tx, c ticket.Change) (conv *Conversation, opened bool, err error) {
	if c.Before != nil {
		conv, err = convByTicket(ctx, tx, c.After.ID)
		return conv, false, err
	}
	if st, ok := ctx.Value(startKey{}).(start); ok && c.After.Channel == "chat" {
		now := s.Now()
		var queued any
		if st.state == Queued {
			queued = now
		}
		id := kefu.NewID()
		_, err := tx.ExecContext(ctx, `INSERT INTO chat_conversations (id, visitor_id, ticket_id, state, queued_at, page_url, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`, id, st.visitorID, c.After.ID, string(st.state), queued, st.pageURL, now)
		if s.DB.Dialect.IsUniqueViolation(err) {
			return nil, false, errStarted
		}
		if err != nil {
			return nil, false, fmt.Errorf("chat: open conversation: %w", err)
		}
		conv, err = getConv(ctx, tx, `c.id = $1`, id)
		return conv, true, err
	}
	if c.After.FollowUpOf == "" {
		return nil, false, nil // not a chat, or a chat ticket made some other way (the API, an import)
	}
	conv, err = convByTicket(ctx, tx, c.After.FollowUpOf)
	if err != nil || conv == nil {
		return conv, false, err
	}
	// The visitor wrote again after their ticket was closed: the
	// conversation carries on, on the follow-up ticket.
	if _, err := tx.ExecContext(ctx, `UPDATE chat_conversations SET ticket_id = $2, updated_at = $3 WHERE id = $1`,
		conv.ID, c.After.ID, s.Now()); err != nil {
		return nil, false, fmt.Errorf("chat: follow-up: %w", err)
	}
	conv.TicketID, conv.TicketKey = c.After.ID, c.After.Key
	return conv, false, nil
}

// followChange moves the conversation with the ticket: an assignment
// accepts or transfers it, clearing the assignee puts it back in the
// queue, solving or closing ends it. It reports whether it recorded an
// event.
func (s *Service) followChange(ctx context.Context, tx *sql.Tx, conv *Conversation, c ticket.Change) (bool, error) {
	before, after := c.Before, c.After
	_, accepting := ctx.Value(acceptKey{}).(bool)
	switch {
	case after.MergedInto != "" && before.MergedInto == "":
		return true, s.merged(ctx, tx, conv, after.MergedInto)
	case accepting:
		return true, s.accept(ctx, tx, conv, after.AssigneeID)
	case after.Status != before.Status && (after.Status == ticket.Solved || after.Status == ticket.Closed) &&
		(conv.State == Queued || conv.State == Active):
		return true, s.setState(ctx, tx, conv, Ended, after.AssigneeID)
	case after.AssigneeID == before.AssigneeID:
		return false, nil
	case after.AssigneeID != "" && conv.State == Queued:
		// Assigned from the ticket's properties: accepted on their behalf.
		return true, s.accept(ctx, tx, conv, after.AssigneeID)
	case after.AssigneeID != "" && conv.State == Active:
		return true, s.setState(ctx, tx, conv, Active, after.AssigneeID) // transferred
	case after.AssigneeID == "" && conv.State == Active:
		return true, s.setState(ctx, tx, conv, Queued, "") // handed back to the queue
	}
	if _, err := tx.ExecContext(ctx, `UPDATE chat_conversations SET agent_id = $2 WHERE id = $1`, conv.ID, database.Nullable(after.AssigneeID)); err != nil {
		return false, fmt.Errorf("chat: agent: %w", err)
	}
	return false, nil
}

// accept gives a queued chat to agentID, and refuses if it is no longer
// queued (someone else was faster).
func (s *Service) accept(ctx context.Context, tx *sql.Tx, conv *Conversation, agentID string) error {
	if agentID == "" {
		return kefu.Fieldf("assignee_id", "accepting a chat needs an agent")
	}
	now := s.Now()
	res, err := tx.ExecContext(ctx, `UPDATE chat_conversations SET state = 'active', agent_id = $2, updated_at = $3
		WHERE id = $1 AND state = 'queued'`, conv.ID, agentID, now)
	if err != nil {
		return fmt.Errorf("chat: accept: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		cur, err := getConv(ctx, tx, `c.id = $1`, conv.ID)
		if err != nil {
			return err
		}
		if cur != nil && cur.State == Active {
			name, _ := staffName(ctx, tx, cur.AgentID)
			return kefu.Errorf(kefu.Conflict, "%s has already accepted this chat", name)
		}
		return kefu.Errorf(kefu.Conflict, "this chat is not waiting in the queue")
	}
	if conv.QueuedAt != nil {
		if _, err := tx.ExecContext(ctx, `INSERT INTO chat_waits (id, conversation_id, agent_id, queued_at, accepted_at) VALUES ($1, $2, $3, $4, $5)`,
			kefu.NewID(), conv.ID, agentID, *conv.QueuedAt, now); err != nil {
			return fmt.Errorf("chat: accept time: %w", err)
		}
	}
	conv.State, conv.AgentID = Active, agentID
	if err := s.stateEvent(ctx, tx, conv); err != nil {
		return err
	}
	return s.queueChanged(ctx, tx, conv)
}

// setState moves the conversation to state with agentID and records it.
func (s *Service) setState(ctx context.Context, tx *sql.Tx, conv *Conversation, state State, agentID string) error {
	now := s.Now()
	wasQueued := conv.State == Queued
	queued := conv.QueuedAt
	if state == Queued && !wasQueued {
		queued = &now
	}
	_, err := tx.ExecContext(ctx, `UPDATE chat_conversations SET state = $2, agent_id = $3, queued_at = $4, updated_at = $5 WHERE id = $1`,
		conv.ID, string(state), database.Nullable(agentID), nullTime(queued), now)
	if err != nil {
		return fmt.Errorf("chat: state: %w", err)
	}
	conv.State, conv.AgentID, conv.QueuedAt = state, agentID, queued
	if err := s.stateEvent(ctx, tx, conv); err != nil {
		return err
	}
	if wasQueued || state == Queued {
		return s.queueChanged(ctx, tx, conv)
	}
	return nil
}

func (s *Service) stateEvent(ctx context.Context, tx *sql.Tx, conv *Conversation) error {
	d := EventData{State: conv.State}
	if conv.State == Active {
		name, err := staffName(ctx, tx, conv.AgentID)
		if err != nil {
			return err
		}
		d.Agent, d.AgentName = conv.AgentID, name
	}
	_, err := s.appendEvent(ctx, tx, conv, KindState, true, "", d)
	return err
}

// merged follows a chat ticket merged into another: the conversation
// carries on there, unless that ticket has a chat of its own, in which
// case this one ends.
func (s *Service) merged(ctx context.Context, tx *sql.Tx, conv *Conversation, targetID string) error {
	res, err := tx.ExecContext(ctx, `UPDATE chat_conversations SET ticket_id = $2, updated_at = $3 WHERE id = $1
		AND NOT EXISTS (SELECT 1 FROM chat_conversations o WHERE o.ticket_id = $2)`, conv.ID, targetID, s.Now())
	if err != nil {
		return fmt.Errorf("chat: merge: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return s.setState(ctx, tx, conv, Ended, conv.AgentID)
	}
	conv.TicketID = targetID
	_, err = s.appendEvent(ctx, tx, conv, KindChanged, false, "", EventData{})
	return err
}
