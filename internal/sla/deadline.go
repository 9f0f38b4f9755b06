package sla

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/database"
)

// Deadline is a promise on a ticket that no ticket event starts or keeps:
// a refund due within working days of a return passing inspection, a
// complaint's preliminary reply within 24 hours. The part of Kefu that
// makes the promise (internal/aftersales) starts it in its own
// transaction and ends it when it is kept; meanwhile it is a clock like
// any other: listed with the ticket's clocks, due-next, warned, breached
// and escalated by the sweep, exactly once.
//
// Its due instant is fixed when it starts (the caller counts working
// days on the calendar), so editing the calendar or the ticket's policy
// later leaves it as promised.
type Deadline struct {
	// Label names the promise in notices: "refund of AS-1001".
	Label string    `json:"label"`
	DueAt time.Time `json:"due_at"`
	// Rule is what fires: Warn, Breach and Escalations, with Unit saying
	// what the minutes of a warning and of escalations count (business
	// minutes of the calendar, or calendar minutes). Kind and Minutes are
	// not used.
	Rule Target `json:"rule"`
}

// target is the deadline's rule as the engine's target of kind k.
func (d *Deadline) target(k TargetKind) Target {
	t := d.Rule
	t.Kind = k
	t.defaults()
	return t
}

// StartDeadline starts a deadline of kind target (a name of the caller's,
// such as "refund"; never one of the policy targets) on a ticket, counted
// from start in calendar calendarID, inside the caller's transaction. It
// returns the clock's id, which EndDeadline takes.
func (s *Service) StartDeadline(ctx context.Context, tx *sql.Tx, ticketID string, target TargetKind, calendarID string, start time.Time, d Deadline) (string, error) {
	var fs kefu.Fields
	if target == "" || slices.Contains(TargetKinds, target) || len(target) > 40 {
		fs.Add("target", "must name the deadline, and not be a policy target")
	}
	if !kefu.ValidID(calendarID) {
		fs.Add("calendar_id", "no such calendar: %q", calendarID)
	}
	if !d.DueAt.After(start) {
		fs.Add("due_at", "must be after the start")
	}
	rule := d.target(target)
	if rule.Unit != Business && rule.Unit != Elapsed {
		fs.Add("rule.unit", "must be business or calendar")
	}
	noID := func(field, kind, id string) {
		if !kefu.ValidID(id) {
			fs.Add(field, "no such %s: %q", kind, id)
		}
	}
	for i, a := range rule.Breach {
		checkAction(&fs, fmt.Sprintf("rule.breach[%d]", i), a, noID)
	}
	for i, e := range rule.Escalations {
		for j, a := range e.Actions {
			checkAction(&fs, fmt.Sprintf("rule.escalations[%d].actions[%d]", i, j), a, noID)
		}
	}
	if err := fs.Err(); err != nil {
		return "", err
	}
	var cycle int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(cycle), 0) FROM sla_clocks WHERE ticket_id = $1 AND target = $2`,
		ticketID, string(target)).Scan(&cycle); err != nil {
		return "", fmt.Errorf("sla: deadline: %w", err)
	}
	d.Rule = rule
	k := &Clock{TicketID: ticketID, Target: target, Cycle: cycle + 1, CalendarID: calendarID, StartedAt: start.UTC(), Deadline: &d}
	m, err := s.meter(ctx, tx, calendarID, rule)
	if err != nil {
		return "", err
	}
	now := s.Now()
	k.compute(rule, m, now)
	if err := saveClock(ctx, tx, k, now); err != nil {
		return "", err
	}
	return k.ID, nil
}

// EndDeadline stops a deadline at at: met (the promise was kept, late or
// not) or cancelled (nothing is owed any more). Ending one already ended
// does nothing.
func (s *Service) EndDeadline(ctx context.Context, tx *sql.Tx, clockID string, met bool, at time.Time) error {
	if !kefu.ValidID(clockID) {
		return kefu.Errorf(kefu.NotFound, "no deadline %s", clockID)
	}
	k, err := getClock(ctx, tx, clockID)
	if err != nil {
		return err
	}
	if k.Deadline == nil {
		return kefu.Errorf(kefu.NotFound, "no deadline %s", clockID)
	}
	if !k.Open() {
		return nil
	}
	if met {
		k.meet(at)
	} else {
		k.cancel(at)
	}
	rule := k.Deadline.target(k.Target)
	m, err := s.meter(ctx, tx, k.CalendarID, rule)
	if err != nil {
		return err
	}
	now := s.Now()
	k.compute(rule, m, now)
	return saveClock(ctx, tx, k, now)
}

// DeadlineView is one deadline's state, for the part of Kefu that set it.
type DeadlineView struct {
	ClockID    string     `json:"clock_id"`
	Target     TargetKind `json:"target"`
	Label      string     `json:"label"`
	State      State      `json:"state" enum:"running,paused,met,breached,cancelled"`
	StartedAt  time.Time  `json:"started_at"`
	DueAt      time.Time  `json:"due_at"`
	MetAt      *time.Time `json:"met_at,omitempty"`
	BreachedAt *time.Time `json:"breached_at,omitempty"`
	Level      int        `json:"escalation_level" doc:"0 nothing fired, 1 breached, 2+ escalation level"`
}

// Deadlines returns the deadlines with the given clock ids, in that
// order; unknown ids are left out.
func (s *Service) Deadlines(ctx context.Context, q database.Querier, clockIDs []string) ([]DeadlineView, error) {
	ids := slices.DeleteFunc(slices.Clone(clockIDs), func(id string) bool { return !kefu.ValidID(id) })
	if len(ids) == 0 {
		return []DeadlineView{}, nil
	}
	clocks, err := queryClocks(ctx, q, `WHERE id IN (`+database.Placeholders(1, len(ids))+`)`, anys(ids)...)
	if err != nil {
		return nil, err
	}
	byID := map[string]DeadlineView{}
	for _, k := range clocks {
		if k.Deadline == nil {
			continue
		}
		byID[k.ID] = DeadlineView{ClockID: k.ID, Target: k.Target, Label: k.Deadline.Label, State: k.State(), StartedAt: k.StartedAt,
			DueAt: k.DueAt, MetAt: k.MetAt, BreachedAt: k.BreachedAt, Level: k.Level}
	}
	out := []DeadlineView{}
	for _, id := range ids {
		if v, ok := byID[id]; ok {
			out = append(out, v)
		}
	}
	return out, nil
}

// encodeDeadline is the deadline column of a clock: ” for policy targets.
func encodeDeadline(d *Deadline) string {
	if d == nil {
		return ""
	}
	b, _ := json.Marshal(d)
	return string(b)
}

func decodeDeadline(s string) (*Deadline, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var d Deadline
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		return nil, err
	}
	d.DueAt = d.DueAt.UTC()
	return &d, nil
}
