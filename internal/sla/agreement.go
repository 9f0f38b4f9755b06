package sla

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// NewAgreement records that a promise cannot be kept and the customer
// agreed to hear back at NextContactAt.
type NewAgreement struct {
	Target        TargetKind `json:"target,omitempty" enum:"first_response,next_reply,solution,resolution" doc:"The running target the time replaces the deadline of; default the one due first"`
	NextContactAt time.Time  `json:"next_contact_at" doc:"The agreed time of the next feedback (RFC 3339)"`
	Channel       string     `json:"channel" doc:"Where the customer consented: email, chat, phone, …"`
	ConsentedAt   time.Time  `json:"consented_at,omitempty" doc:"When the customer agreed; default now"`
	CustomerWords string     `json:"customer_words" maxLength:"2000" doc:"What the customer said, in their words"`
}

// Agreement is a recorded next-contact time with the customer's consent.
type Agreement struct {
	ID            string     `json:"id"`
	TicketID      string     `json:"ticket_id"`
	Target        TargetKind `json:"target"`
	NextContactAt time.Time  `json:"next_contact_at"`
	Channel       string     `json:"channel"`
	ConsentedAt   time.Time  `json:"consented_at"`
	CustomerWords string     `json:"customer_words"`
	RecordedBy    string     `json:"recorded_by"`
	CreatedAt     time.Time  `json:"created_at"`
}

// maxAgreedAhead bounds an agreed time: further out is almost always a
// typo in the year.
const maxAgreedAhead = 90 * 24 * time.Hour

// Agree sets the deadline of a running target to the next-contact time the
// customer agreed to. Missing it is a breach like any other. The consent
// goes into the audit trail under the customer, so it shows in their
// service file.
func (s *Service) Agree(ctx context.Context, ticketID string, in NewAgreement) (*Agreement, error) {
	a := audit.ActorOf(ctx)
	if !a.CanWrite() {
		return nil, kefu.Errorf(kefu.Forbidden, "your role may not change tickets")
	}
	t, err := s.Tickets.Get(ctx, ticketID)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	var fs kefu.Fields
	switch {
	case in.NextContactAt.IsZero():
		fs.Add("next_contact_at", "is required")
	case !in.NextContactAt.After(now):
		fs.Add("next_contact_at", "must be in the future")
	case in.NextContactAt.Sub(now) > maxAgreedAhead:
		fs.Add("next_contact_at", "must be within 90 days")
	}
	if !slices.Contains(ticket.Channels, in.Channel) {
		fs.Add("channel", "must be one of %s", strings.Join(ticket.Channels, ", "))
	}
	if in.ConsentedAt.IsZero() {
		in.ConsentedAt = now
	}
	if in.ConsentedAt.After(now) {
		fs.Add("consented_at", "cannot be in the future")
	}
	in.CustomerWords = strings.TrimSpace(in.CustomerWords)
	if in.CustomerWords == "" || len(in.CustomerWords) > 2000 {
		fs.Add("customer_words", "is required: what the customer said when agreeing (at most 2000 bytes)")
	}
	if in.Target != "" && !slices.Contains(TargetKinds, in.Target) {
		fs.Add("target", "must be one of first_response, next_reply, solution, resolution")
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	ag := &Agreement{ID: kefu.NewID(), TicketID: t.ID, NextContactAt: in.NextContactAt.UTC(), Channel: in.Channel,
		ConsentedAt: in.ConsentedAt.UTC(), CustomerWords: in.CustomerWords, RecordedBy: a.Name, CreatedAt: now}
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		clocks, err := ticketClocks(ctx, tx, t.ID)
		if err != nil {
			return err
		}
		k := pickClock(clocks, in.Target)
		if k == nil {
			return kefu.Fieldf("target", "no running SLA target on %s to agree a time for", t.Key)
		}
		if k.BreachedAt != nil {
			return &kefu.Error{Code: kefu.Conflict, Message: "target already breached",
				Fields: []kefu.FieldError{{Field: "target", Message: fmt.Sprintf("%s was due %s and is breached; the breach stands (agree the next contact before the deadline)", k.Target, k.DueAt.Format(time.RFC3339))}}}
		}
		ag.Target = k.Target
		k.AgreedDueAt = &ag.NextContactAt
		// Warn again before the agreed time; the event's level tells the
		// warnings apart (see plan).
		k.Warned = false
		if err := saveClock(ctx, tx, k, now); err != nil {
			return err
		}
		if err := s.evaluateAt(ctx, tx, t, now); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO sla_agreements (id, ticket_id, clock_id, customer_id, next_contact_at, channel,
			consented_at, customer_words, recorded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			ag.ID, t.ID, k.ID, t.CustomerID, ag.NextContactAt, ag.Channel, ag.ConsentedAt, ag.CustomerWords, ag.RecordedBy, now)
		if err != nil {
			return fmt.Errorf("sla: agreement: %w", err)
		}
		return audit.Record(ctx, tx, now, audit.Entry{Action: "sla.next_contact_agreed", Entity: "customer", EntityID: t.CustomerID,
			TicketID: t.ID, CustomerID: t.CustomerID, Changes: map[string]audit.Change{"next_contact": {After: map[string]any{
				"ticket": t.Key, "target": k.Target, "next_contact_at": ag.NextContactAt, "channel": ag.Channel,
				"consented_at": ag.ConsentedAt, "customer_words": ag.CustomerWords}}}})
	})
	if err != nil {
		return nil, err
	}
	return ag, nil
}

// pickClock returns the open, unmet clock of kind (the latest cycle), or
// when kind is "" the open clock due first.
func pickClock(clocks []*Clock, kind TargetKind) *Clock {
	var best *Clock
	for _, k := range clocks {
		// A deadline keeps its promised time (deadline.go).
		if !k.Open() || k.Deadline != nil || (kind != "" && k.Target != kind) {
			continue
		}
		if best == nil || (kind == "" && k.DueAt.Before(best.DueAt)) || (kind != "" && k.Cycle > best.Cycle) {
			best = k
		}
	}
	return best
}

func listAgreements(ctx context.Context, q database.Querier, ticketID string) ([]Agreement, error) {
	rows, err := q.QueryContext(ctx, `SELECT CAST(a.id AS text), CAST(a.ticket_id AS text), c.target, a.next_contact_at, a.channel,
		a.consented_at, a.customer_words, a.recorded_by, a.created_at
		FROM sla_agreements a JOIN sla_clocks c ON c.id = a.clock_id WHERE a.ticket_id = $1 ORDER BY a.id`, ticketID)
	if err != nil {
		return nil, fmt.Errorf("sla: agreements: %w", err)
	}
	defer rows.Close()
	out := []Agreement{}
	for rows.Next() {
		var g Agreement
		if err := rows.Scan(&g.ID, &g.TicketID, &g.Target, &g.NextContactAt, &g.Channel, &g.ConsentedAt, &g.CustomerWords,
			&g.RecordedBy, &g.CreatedAt); err != nil {
			return nil, err
		}
		g.NextContactAt, g.ConsentedAt, g.CreatedAt = g.NextContactAt.UTC(), g.ConsentedAt.UTC(), g.CreatedAt.UTC()
		out = append(out, g)
	}
	return out, rows.Err()
}
