package portal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/sla"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// Requests returns the session's requests, newest first (at most 100).
// A session opened for one request sees that one.
func (s *Service) Requests(ctx context.Context, sess *Session) ([]*ticket.Ticket, error) {
	ctx = s.as(ctx, sess)
	if sess.TicketID != "" {
		t, err := s.Tickets.Get(ctx, sess.TicketID)
		if err != nil {
			return nil, err
		}
		return []*ticket.Ticket{t}, nil
	}
	page, err := s.Tickets.List(ctx, ticket.Filter{CustomerID: sess.CustomerID, Limit: 100})
	if err != nil {
		return nil, err
	}
	return page.Tickets, nil
}

// TicketView is one request as its customer sees it. The portal's ticket
// page shows it in panels; later parts (after-sales cases, workflow
// steps) add fields here and a panel there.
type TicketView struct {
	Ticket *ticket.Ticket
	Stage  Stage
	// Messages are the customer's own and the shop's public replies,
	// oldest first: never internal notes, never events.
	Messages []ticket.Message
	// Promise is the next contact the shop has promised; nil when none
	// is running (the customer's turn, solved, closed, or no SLA).
	Promise *Promise
	// Location is where the portal shows times: the browser's zone, else
	// the zone of the shop's business calendar, else UTC.
	Location *time.Location
}

// Promise is the next promised contact.
type Promise struct {
	// Kind: "reply" (a first response, a next reply or a solution is due),
	// "agreed" (a time agreed with the customer replaced the deadline) or
	// "resolve" (only the resolution target is running).
	Kind    string
	At      time.Time
	Overdue bool // the time has passed unmet: say sorry, not a time in the past
}

// Ticket returns one of the session's requests by key (KF-10234) or id.
// Anyone else's is NotFound, exactly like one that does not exist.
func (s *Service) Ticket(ctx context.Context, sess *Session, key string) (*TicketView, error) {
	t, err := s.scoped(ctx, sess, key)
	if err != nil {
		return nil, err
	}
	ctx = s.as(ctx, sess)
	v := &TicketView{Ticket: t, Stage: StageOf(t.Status), Messages: []ticket.Message{}, Location: time.UTC}
	for after := ""; ; {
		page, err := s.Tickets.Messages(ctx, t.ID, after, 500)
		if err != nil {
			return nil, err
		}
		// internal/ticket already leaves notes and events out for a
		// customer; this is the second lock on the same door.
		for _, m := range page {
			if m.Kind == ticket.FromCustomer || m.Kind == ticket.Reply {
				v.Messages = append(v.Messages, m)
			}
		}
		if len(page) < 500 {
			break
		}
		after = page[len(page)-1].ID
	}
	calendarZone, err := s.promise(ctx, v)
	if err != nil {
		return nil, err
	}
	switch {
	case sess.TimeZone != "":
		v.Location, _ = time.LoadLocation(sess.TimeZone)
	case calendarZone != nil:
		v.Location = calendarZone
	}
	return v, nil
}

// scoped returns a ticket the session may see.
func (s *Service) scoped(ctx context.Context, sess *Session, key string) (*ticket.Ticket, error) {
	t, err := s.Tickets.Get(s.as(ctx, sess), strings.TrimSpace(key))
	if err != nil {
		return nil, err
	}
	if sess.TicketID != "" && t.ID != sess.TicketID {
		return nil, kefu.Errorf(kefu.NotFound, "no ticket %s", key)
	}
	return t, nil
}

// replyTargets are the SLA targets that promise the customer an answer.
var replyTargets = []sla.TargetKind{sla.FirstResponse, sla.NextReply, sla.Solution}

// promise fills v.Promise from the ticket's running clocks and returns
// the zone of its business calendar, if any.
func (s *Service) promise(ctx context.Context, v *TicketView) (*time.Location, error) {
	if s.SLA == nil {
		return nil, nil
	}
	st, err := s.SLA.ForTicket(ctx, v.Ticket.ID)
	if err != nil {
		return nil, err
	}
	var zone *time.Location
	if st.CalendarID != "" && s.SLA.Calendars != nil {
		cal, err := s.SLA.Calendars.Compiled(ctx, s.DB.Read, st.CalendarID)
		if err != nil && !kefu.IsCode(err, kefu.NotFound) {
			return nil, err
		}
		if cal != nil {
			zone = cal.Location()
		}
	}
	if v.Stage != Received && v.Stage != InProgress {
		return zone, nil
	}
	var reply, resolve *sla.ClockView
	for i := range st.Clocks {
		k := &st.Clocks[i]
		if k.State != sla.Running && k.State != sla.Breached {
			continue // met, cancelled, or paused while it is the customer's turn
		}
		switch {
		case slices.Contains(replyTargets, k.Target) && (reply == nil || k.DueAt.Before(reply.DueAt)):
			reply = k
		case k.Target == sla.Resolution:
			resolve = k
		}
	}
	k, kind := reply, "reply"
	switch {
	case reply != nil && reply.AgreedDueAt != nil:
		kind = "agreed"
	case reply == nil && resolve != nil:
		k, kind = resolve, "resolve"
	case reply == nil:
		return zone, nil
	}
	v.Promise = &Promise{Kind: kind, At: k.DueAt, Overdue: !k.DueAt.After(s.Now())}
	return zone, nil
}

// Reply is a message a customer writes in the portal.
type Reply struct {
	Text   string
	Photos []Photo
	IP     string
}

// Reply adds the customer's message (and photos) to one of their
// requests. The ticket's usual rules apply: it reopens a solved ticket,
// ends a wait on the customer, and on a closed ticket opens a follow-up,
// which is returned (and becomes the request a one-request session sees).
func (s *Service) Reply(ctx context.Context, sess *Session, key string, in Reply) (*ticket.Ticket, error) {
	if err := check(s.buckets().submit, in.IP, s.Now()); err != nil {
		return nil, err
	}
	t, err := s.scoped(ctx, sess, key)
	if err != nil {
		return nil, err
	}
	var fs kefu.Fields
	in.Text = strings.TrimSpace(in.Text)
	switch {
	case in.Text == "" && len(in.Photos) == 0:
		fs.Add("text", "write a message or add a photo")
	case len(in.Text) > s.limits().TextBytes:
		fs.Add("text", "must be at most %d bytes", s.limits().TextBytes)
	}
	uploads, err := s.checkPhotos(&fs, in.Photos)
	if err != nil {
		return nil, err
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	got, _, err := s.Tickets.AddMessage(s.as(ctx, sess), t.ID, ticket.NewMessage{Kind: ticket.FromCustomer, Channel: "portal",
		Text: in.Text, Attachments: uploads})
	if err != nil {
		return nil, err
	}
	if sess.TicketID != "" && got.ID != sess.TicketID {
		if _, err := s.DB.Write.ExecContext(ctx, `UPDATE portal_sessions SET ticket_id = $2 WHERE id = $1`, sess.ID, got.ID); err != nil {
			return nil, fmt.Errorf("portal: session: %w", err)
		}
		sess.TicketID = got.ID
	}
	return got, nil
}

// Attachment opens a photo or file on a public message of one of the
// session's requests.
func (s *Service) Attachment(ctx context.Context, sess *Session, id string) (*ticket.Attachment, io.ReadSeekCloser, error) {
	if !kefu.ValidID(id) {
		return nil, nil, kefu.Errorf(kefu.NotFound, "no attachment %s", id)
	}
	if sess.TicketID != "" {
		var ticketID string
		err := s.DB.Read.QueryRowContext(ctx, `SELECT CAST(ticket_id AS text) FROM attachments WHERE id = $1`, id).Scan(&ticketID)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, nil, err
		}
		if ticketID != sess.TicketID {
			return nil, nil, kefu.Errorf(kefu.NotFound, "no attachment %s", id)
		}
	}
	return s.Tickets.OpenAttachment(s.as(ctx, sess), id)
}
