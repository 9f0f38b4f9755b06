package sla

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// TicketChanged keeps the ticket's clocks in step with the change; it runs
// inside the change's transaction (ticket.Hook), so an error undoes the
// change. That is also how solving below the progress-update minimum is
// refused.
func (s *Service) TicketChanged(ctx context.Context, tx *sql.Tx, c ticket.Change) error {
	if f, ok := ctx.Value(firingKey{}).(*firing); ok && f.ticketID == c.After.ID && !f.done {
		if err := s.record(ctx, tx, f, c.After); err != nil {
			return err
		}
	}
	return s.evaluate(ctx, tx, c, false, nil)
}

// cycleZero are the targets that run once per ticket, from its arrival.
var cycleZero = []TargetKind{FirstResponse, Solution, Resolution}

func ends(st ticket.Status) bool { return st == ticket.Solved || st == ticket.Closed }

// evaluate selects the ticket's policy and moves its clocks for change c.
// Every open clock is recomputed from its start on every change (a ticket
// has a handful), so a new policy, priority or calendar takes effect at
// once. force also (re)starts the policy's once-per-ticket targets, as a
// new ticket, a new policy and a priority change do. b, when not nil,
// holds what was read for many tickets at once.
func (s *Service) evaluate(ctx context.Context, tx *sql.Tx, c ticket.Change, force bool, b *batch) error {
	t, now := c.After, c.At.UTC()
	if b == nil {
		var err error
		// A ticket being created has no SLA state or clocks to read.
		if b, err = s.loadBatch(ctx, tx, []string{t.ID}, c.Before == nil); err != nil {
			return err
		}
	}
	st, policies := b.states[t.ID], b.policies
	if len(policies) == 0 && !st.exists {
		return nil // no SLA in use, and none ever governed this ticket
	}
	var tier string
	if slices.ContainsFunc(policies, func(p Policy) bool { return len(p.Match.Tiers) > 0 }) {
		err := tx.QueryRowContext(ctx, `SELECT tier FROM customers WHERE id = $1`, t.CustomerID).Scan(&tier)
		if err != nil {
			return fmt.Errorf("sla: customer tier: %w", err)
		}
	}
	pol := Select(policies, Subject{Ticket: t, Tier: tier})
	polID := ""
	if pol != nil {
		polID = pol.ID
	}
	if err := s.checkSolve(ctx, tx, c, pol, st); err != nil {
		return err
	}
	clocks := b.clocks[t.ID]
	rebuild := force || c.Before == nil || !st.exists || st.PolicyID != polID || c.Before.Priority != t.Priority
	touched := map[*Clock]bool{}
	stored := map[*Clock]string{}
	for _, k := range clocks {
		// Deadlines keep their own rule and due instant (deadline.go).
		if k.Open() && k.Deadline == nil {
			touched[k] = true
			stored[k] = k.snapshot()
		}
	}
	if rebuild && pol != nil {
		for _, kind := range cycleZero {
			if _, ok := pol.Target(kind); !ok {
				continue
			}
			k := find(clocks, kind, 0)
			if k == nil {
				k = &Clock{TicketID: t.ID, Target: kind, StartedAt: t.CreatedAt.UTC()}
				clocks = append(clocks, k)
			} else if k.CancelledAt == nil {
				continue
			}
			// A clock new to the ticket (or revived) counts from its
			// arrival, with what already happened applied.
			k.CancelledAt = nil
			if err := s.facts(ctx, tx, c, k); err != nil {
				return err
			}
			touched[k] = true
		}
	}
	if pol != nil && c.Before != nil && c.Message != nil {
		clocks = s.onMessage(t, pol, clocks, c.Message, touched)
	}
	for k := range touched {
		tg, ok := Target{}, false
		if pol != nil {
			tg, ok = pol.Target(k.Target)
		}
		if !ok {
			k.cancel(now)
			k.NextAt = nil
			continue
		}
		k.PolicyID, k.CalendarID = pol.ID, pol.CalendarID
		switch {
		case !k.Open():
		case ends(t.Status) && (k.Target == Resolution || k.Target == Solution):
			k.meet(now)
		case ends(t.Status):
			// Nothing is left to answer on a solved ticket.
			k.cancel(now)
		case pol.Pauses(t.Status):
			k.pause(now)
		default:
			k.resume(now)
		}
		m, err := b.meters.get(ctx, tx, pol, tg)
		if err != nil {
			return err
		}
		k.compute(tg, m, now)
	}
	var changed []*Clock
	for _, k := range clocks {
		// Most changes move one clock; the others recompute to what is
		// stored and need no write.
		if snap, ok := stored[k]; touched[k] && (!ok || snap != k.snapshot()) {
			changed = append(changed, k)
		}
	}
	if err := saveClocks(ctx, tx, changed, now); err != nil {
		return err
	}
	// A ticket no policy has governed needs no row: keep creation cheap
	// for shops that use no SLA.
	if (st.exists && st.PolicyID != polID) || (!st.exists && polID != "") {
		st.PolicyID = polID
		return saveTicketState(ctx, tx, t.ID, st, now)
	}
	return nil
}

// onMessage meets clocks on a public reply and starts a next-reply cycle
// on a customer message that is not waiting for a first response.
func (s *Service) onMessage(t *ticket.Ticket, pol *Policy, clocks []*Clock, m *ticket.Message, touched map[*Clock]bool) []*Clock {
	at := m.CreatedAt.UTC()
	switch m.Kind {
	case ticket.Reply:
		for _, k := range clocks {
			if k.Open() && (k.Target == FirstResponse || k.Target == NextReply || (k.Target == Solution && m.ProposesSolution)) {
				k.meet(at)
				touched[k] = true
			}
		}
	case ticket.FromCustomer:
		// An auto-reply (out of office) owes nobody an answer.
		if _, ok := pol.Target(NextReply); !ok || ends(t.Status) || m.Automated {
			return clocks
		}
		cycle := 0
		for _, k := range clocks {
			if k.Open() && (k.Target == NextReply || k.Target == FirstResponse) {
				return clocks // an answer is already owed
			}
			if k.Target == NextReply {
				cycle = max(cycle, k.Cycle)
			}
		}
		k := &Clock{TicketID: t.ID, Target: NextReply, Cycle: cycle + 1, StartedAt: at}
		touched[k] = true
		clocks = append(clocks, k)
	}
	return clocks
}

// facts meets a clock that starts late by what the ticket already shows.
func (s *Service) facts(ctx context.Context, q database.Querier, c ticket.Change, k *Clock) error {
	t := c.After
	k.MetAt = nil
	switch k.Target {
	case FirstResponse:
		k.MetAt = t.FirstReplyAt
	case Resolution:
		k.MetAt = t.SolvedAt
	case Solution:
		if c.Before == nil {
			// A new ticket has one message, the one in the change.
			if m := c.Message; m != nil && m.Kind == ticket.Reply && m.ProposesSolution {
				at := m.CreatedAt.UTC()
				k.MetAt = &at
			}
			return nil
		}
		// Not min(): SQLite returns an aggregate of timestamps as text.
		var at sql.NullTime
		err := q.QueryRowContext(ctx, `SELECT created_at FROM messages WHERE ticket_id = $1 AND kind = 'reply' AND proposes_solution
			ORDER BY created_at LIMIT 1`, t.ID).Scan(&at)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sla: solution: %w", err)
		}
		k.MetAt = database.TimePtr(at)
	}
	return nil
}

func find(clocks []*Clock, kind TargetKind, cycle int) *Clock {
	i := slices.IndexFunc(clocks, func(k *Clock) bool { return k.Target == kind && k.Cycle == cycle })
	if i < 0 {
		return nil
	}
	return clocks[i]
}

// meter returns what target tg counts in, calendarID being its calendar.
func (s *Service) meter(ctx context.Context, q database.Querier, calendarID string, tg Target) (Meter, error) {
	if tg.Unit == Elapsed {
		return realTime{}, nil
	}
	return s.Calendars.Compiled(ctx, q, calendarID)
}

// meterCache looks each calendar up once per evaluation (or batch of
// evaluations) rather than once per clock.
type meterCache struct {
	s    *Service
	cals map[string]Meter
}

func (c *meterCache) get(ctx context.Context, q database.Querier, pol *Policy, tg Target) (Meter, error) {
	if tg.Unit == Elapsed {
		return realTime{}, nil
	}
	if m, ok := c.cals[pol.CalendarID]; ok {
		return m, nil
	}
	m, err := c.s.meter(ctx, q, pol.CalendarID, tg)
	if err != nil {
		return nil, err
	}
	c.cals[pol.CalendarID] = m
	return m, nil
}

// batch is what evaluating tickets reads, loaded for many at once when a
// policy or calendar edit recomputes them.
type batch struct {
	policies []Policy
	states   map[string]ticketState
	clocks   map[string][]*Clock
	meters   *meterCache
}

func (s *Service) loadBatch(ctx context.Context, tx *sql.Tx, ticketIDs []string, created bool) (*batch, error) {
	b := &batch{meters: &meterCache{s: s, cals: map[string]Meter{}}}
	var err error
	if b.policies, err = s.policies(ctx, tx); err != nil {
		return nil, err
	}
	if created {
		return b, nil
	}
	if b.states, err = loadTicketStates(ctx, tx, ticketIDs); err != nil {
		return nil, err
	}
	if len(b.policies) == 0 && len(b.states) == 0 {
		return b, nil // no SLA in use: nothing else to read
	}
	if b.clocks, err = loadClocks(ctx, tx, ticketIDs); err != nil {
		return nil, err
	}
	return b, nil
}

// checkSolve refuses to solve or close a ticket with fewer public replies
// than the policy's minimum, unless a supervisor waived it.
func (s *Service) checkSolve(ctx context.Context, tx *sql.Tx, c ticket.Change, pol *Policy, st ticketState) error {
	t := c.After
	if pol == nil || pol.MinProgressUpdates == 0 || !ends(t.Status) || t.MergedInto != "" || st.WaivedAt != nil {
		return nil
	}
	// A contact logged as already solved (a phone call settled on the
	// spot) has no handling to report progress on.
	if c.Before == nil || ends(c.Before.Status) {
		return nil
	}
	n, err := countReplies(ctx, tx, t.ID)
	if err != nil {
		return err
	}
	if n >= pol.MinProgressUpdates {
		return nil
	}
	return kefu.Fieldf("status", "SLA policy %q needs at least %d progress updates (public replies: the solution, progress, a satisfaction check) before %s is %s; %d sent. A supervisor can waive this for the ticket with a reason",
		pol.Name, pol.MinProgressUpdates, t.Key, t.Status, n)
}

// ProgressUpdates counts the progress updates a ticket's customer has had
// (its public replies), wherever they were written: in the ticket, or
// with a workflow stage's decision.
func ProgressUpdates(ctx context.Context, q database.Querier, ticketID string) (int, error) {
	return countReplies(ctx, q, ticketID)
}

func countReplies(ctx context.Context, q database.Querier, ticketID string) (int, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM messages WHERE ticket_id = $1 AND kind = 'reply'`, ticketID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sla: progress updates: %w", err)
	}
	return n, nil
}

// Waive lets ticketID be solved with fewer progress updates than its
// policy asks. Only supervisors and administrators may, with a reason
// that goes into the audit trail.
func (s *Service) Waive(ctx context.Context, ticketID, reason string) error {
	a := audit.ActorOf(ctx)
	if a.Kind != kefu.ActorSystem && !a.Role.Supervises() {
		return kefu.Errorf(kefu.Forbidden, "only a supervisor or administrator may waive progress updates")
	}
	if a.Scopes != nil && !a.HasScope("tickets:write") {
		return kefu.Errorf(kefu.Forbidden, "this token lacks the scope tickets:write")
	}
	if len(reason) < 3 || len(reason) > 1000 {
		return kefu.Fieldf("reason", "is required, 3 to 1000 bytes")
	}
	t, err := s.Tickets.Get(ctx, ticketID)
	if err != nil {
		return err
	}
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		st, err := loadTicketState(ctx, tx, t.ID)
		if err != nil {
			return err
		}
		now := s.Now()
		st.WaiverReason, st.WaivedBy, st.WaivedAt = reason, a.Name, &now
		if err := saveTicketState(ctx, tx, t.ID, st, now); err != nil {
			return err
		}
		return audit.Record(ctx, tx, now, audit.Entry{Action: "sla.waive_progress_updates", Entity: "ticket", EntityID: t.ID,
			TicketID: t.ID, CustomerID: t.CustomerID, Changes: map[string]audit.Change{"reason": {After: reason}}})
	})
}

var errAlreadyFired = errors.New("sla: already fired")

// evaluateAt is for callers outside a ticket change (agreements): it
// recomputes the ticket's open clocks as of now.
func (s *Service) evaluateAt(ctx context.Context, tx *sql.Tx, t *ticket.Ticket, now time.Time) error {
	return s.evaluate(ctx, tx, ticket.Change{Before: t, After: t, At: now}, false, nil)
}
