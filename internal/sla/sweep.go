package sla

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// Event kinds, as stored in sla_events.
const (
	KindWarning    = "warning"
	KindBreach     = "breach"
	KindEscalation = "escalation"
)

// firing is one warning, breach or escalation on its way. When it changes
// the ticket it travels in the context of that change, and the hook
// records it in the change's transaction.
type firing struct {
	clockID, ticketID string
	kind              string
	level             int
	due               time.Time
	actions           []Action
	target            Target
	meter             Meter
	loc               *time.Location // the policy calendar's zone, for people
	text              string
	done              bool
}

type firingKey struct{}

// SweepBatch bounds the clocks one sweep handles, so a backlog after an
// outage is worked off in steps rather than one long pass.
const SweepBatch = 200

// Sweep fires every warning, breach and escalation that is due and
// returns how many clocks it looked at. Run it on one instance (a cluster
// lease); running it on several at once is still safe, only wasteful:
// each event fires once whoever gets there first.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	// UTC: SQLite compares stored timestamps as text.
	now := s.Now().UTC()
	ids, err := database.Strings(ctx, s.DB.Read, `SELECT CAST(id AS text) FROM sla_clocks
		WHERE next_at IS NOT NULL AND next_at <= $1 ORDER BY next_at LIMIT `+fmt.Sprint(SweepBatch), now)
	if err != nil {
		return 0, fmt.Errorf("sla: sweep: %w", err)
	}
	var errs []error
	for _, id := range ids {
		if err := s.fire(ctx, id); err != nil {
			errs = append(errs, fmt.Errorf("clock %s: %w", id, err))
		}
	}
	return len(ids), errors.Join(errs...)
}

// Run sweeps every interval until ctx ends, and again at once while a
// sweep finds a full batch.
func (s *Service) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := s.Sweep(ctx)
		if err != nil && ctx.Err() == nil {
			slog.Warn("sla sweep", "err", err)
		}
		if n == SweepBatch && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// fire handles one clock whose next instant has come.
func (s *Service) fire(ctx context.Context, clockID string) error {
	sys := kefu.WithActor(ctx, kefu.System)
	now := s.Now()
	k, err := getClock(ctx, s.DB.Write, clockID)
	if err != nil {
		return err
	}
	if k.NextAt == nil || k.NextAt.After(now) || !k.Open() {
		return nil // someone got here first
	}
	t, err := s.Tickets.Get(sys, k.TicketID)
	if err != nil {
		return err
	}
	f, err := s.plan(ctx, k, now)
	if err != nil || f == nil {
		return err
	}
	if patch, ok := ticketPatch(f.actions, t); ok {
		_, err := s.Tickets.Update(context.WithValue(sys, firingKey{}, f), t.ID, t.Version, patch)
		switch {
		case errors.Is(err, errAlreadyFired), kefu.IsCode(err, kefu.Stale):
			return nil // fired elsewhere, or the ticket moved: look again next sweep
		case kefu.IsCode(err, kefu.Invalid):
			// The action cannot apply (say, a disabled staff member to
			// reassign to); still record the event and notify.
			slog.Warn("sla action refused", "ticket", t.Key, "err", err)
		case err != nil:
			return err
		}
		if f.done {
			return nil
		}
	}
	return s.DB.InTx(sys, func(tx *sql.Tx) error { return s.record(sys, tx, f, t) })
}

// plan decides what fires for clock k now, or returns nil after bringing
// the clock's next instant up to date.
func (s *Service) plan(ctx context.Context, k *Clock, now time.Time) (*firing, error) {
	var tg Target
	var err error
	calendarID := k.CalendarID
	if k.Deadline != nil {
		// A deadline holds its own rule (deadline.go).
		tg = k.Deadline.target(k.Target)
	} else {
		var pol *Policy
		pol, err = getPolicy(ctx, s.DB.Write, k.PolicyID)
		if err == nil {
			var ok bool
			tg, ok = pol.Target(k.Target)
			if !ok {
				err = kefu.Errorf(kefu.NotFound, "the policy has no %s target", k.Target)
			}
			calendarID = pol.CalendarID
		}
	}
	if kefu.IsCode(err, kefu.NotFound) {
		// Nothing can fire for a clock whose target is gone; the next
		// change of its ticket cancels it. Until then the sweep skips it.
		k.NextAt = nil
		return nil, s.DB.InTx(ctx, func(tx *sql.Tx) error { return saveClock(ctx, tx, k, now) })
	}
	if err != nil {
		return nil, err
	}
	m, err := s.meter(ctx, s.DB.Write, calendarID, tg)
	if err != nil {
		return nil, err
	}
	// Notices show times in the shop's zone, also for calendar-minute targets.
	cal, err := s.Calendars.Compiled(ctx, s.DB.Write, calendarID)
	if err != nil {
		return nil, err
	}
	f := &firing{clockID: k.ID, ticketID: k.TicketID, due: k.DueAt, target: tg, meter: m, loc: cal.Location()}
	switch {
	case !k.Warned && k.WarnAt != nil && !k.WarnAt.After(now) && now.Before(k.DueAt):
		// Level 1 warns of the deadline, level n+1 of the n-th agreed
		// next-contact time, so each fires once.
		var n int
		if err := s.DB.Write.QueryRowContext(ctx, `SELECT count(*) FROM sla_agreements WHERE clock_id = $1`, k.ID).Scan(&n); err != nil {
			return nil, fmt.Errorf("sla: agreements: %w", err)
		}
		f.kind, f.level, f.actions = KindWarning, 1+n, tg.Warn.Notify
	case k.Level == 0 && !k.DueAt.After(now):
		f.kind, f.level, f.actions = KindBreach, 1, tg.Breach
	case k.Level >= 1 && k.Level-1 < len(tg.Escalations) &&
		!m.Add(k.DueAt, time.Duration(tg.Escalations[k.Level-1].AfterMinutes)*time.Minute).After(now):
		f.kind, f.level, f.actions = KindEscalation, k.Level+1, tg.Escalations[k.Level-1].Actions
	default:
		// Nothing is due after all: next_at was computed before an edit,
		// or a warning's time came only after the deadline (it is
		// dropped). Recompute it so the sweep stops finding the clock.
		if k.WarnAt != nil && !k.WarnAt.After(now) {
			k.Warned = true
		}
		k.compute(tg, m, now)
		return nil, s.DB.InTx(ctx, func(tx *sql.Tx) error { return saveClock(ctx, tx, k, now) })
	}
	return f, nil
}

// ticketPatch turns the actions that change a ticket into one patch.
func ticketPatch(actions []Action, t *ticket.Ticket) (ticket.Patch, bool) {
	var p ticket.Patch
	changed := false
	for _, a := range actions {
		switch a.Kind {
		case RaisePriority:
			i := slices.Index(ticket.Priorities, t.Priority)
			if i >= 0 && i+1 < len(ticket.Priorities) {
				next := ticket.Priorities[i+1]
				p.Priority, changed = &next, true
			}
		case Reassign:
			if a.StaffID != t.AssigneeID {
				id := a.StaffID
				p.AssigneeID, changed = &id, true
			}
		case AddTag:
			if !slices.Contains(t.Tags, a.Tag) {
				p.AddTags, changed = append(p.AddTags, a.Tag), true
			}
		}
	}
	return p, changed
}

// record writes the event under its unique key, advances the clock and
// sends the notices, all in tx. If the key exists the event already
// fired: in a ticket change that aborts the change.
func (s *Service) record(ctx context.Context, tx *sql.Tx, f *firing, t *ticket.Ticket) error {
	now := s.Now()
	eventID := kefu.NewID()
	res, err := tx.ExecContext(ctx, `INSERT INTO sla_events (id, clock_id, level, kind, due_at, fired_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (clock_id, level, kind) DO NOTHING`,
		eventID, f.clockID, f.level, f.kind, f.due, now)
	if err != nil {
		return fmt.Errorf("sla: event: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	k, err := getClock(ctx, tx, f.clockID)
	if err != nil {
		return err
	}
	switch f.kind {
	case KindWarning:
		k.Warned = true
	case KindBreach:
		k.Warned, k.Level = true, max(k.Level, 1)
		if k.BreachedAt == nil {
			due := f.due
			k.BreachedAt = &due
		}
	case KindEscalation:
		k.Level = max(k.Level, f.level)
	}
	k.compute(f.target, f.meter, now)
	if err := saveClock(ctx, tx, k, now); err != nil {
		return err
	}
	if n == 0 {
		if ctx.Value(firingKey{}) != nil {
			return errAlreadyFired
		}
		return nil
	}
	f.text = describe(t, k, f)
	if err := audit.Record(ctx, tx, now, audit.Entry{Action: "sla." + f.kind, Entity: "ticket", EntityID: t.ID, TicketID: t.ID,
		Changes: map[string]audit.Change{"sla": {After: map[string]any{"target": k.Target, "cycle": k.Cycle, "level": f.level, "due_at": f.due}}}}); err != nil {
		return err
	}
	if err := s.notify(ctx, tx, eventID, f, t); err != nil {
		return err
	}
	f.done = true
	return nil
}

func describe(t *ticket.Ticket, k *Clock, f *firing) string {
	due := f.due.In(f.loc).Format("2006-01-02 15:04 MST")
	what := map[TargetKind]string{FirstResponse: "first response", NextReply: "next reply", Solution: "solution", Resolution: "resolution"}[k.Target]
	if k.Deadline != nil {
		what = k.Deadline.Label
	}
	switch f.kind {
	case KindWarning:
		return fmt.Sprintf("%s %q: %s due %s", t.Key, t.Subject, what, due)
	case KindBreach:
		return fmt.Sprintf("%s %q: %s was due %s and is overdue", t.Key, t.Subject, what, due)
	}
	return fmt.Sprintf("%s %q: %s still unmet (due %s), escalation level %d", t.Key, t.Subject, what, due, f.level)
}
