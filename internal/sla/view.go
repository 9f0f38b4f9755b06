package sla

import (
	"context"
	"fmt"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// ClockView is a clock as ticket pages and lists show it.
type ClockView struct {
	Target          TargetKind `json:"target"`
	Cycle           int        `json:"cycle" doc:"0 for targets that run once; 1, 2, … for each next-reply cycle"`
	State           State      `json:"state" enum:"running,paused,met,breached,cancelled"`
	Unit            Unit       `json:"unit" enum:"business,calendar"`
	StartedAt       time.Time  `json:"started_at"`
	DueAt           time.Time  `json:"due_at" doc:"For a paused clock, the deadline were it resumed at the pause start"`
	AgreedDueAt     *time.Time `json:"agreed_due_at,omitempty" doc:"A next-contact time agreed with the customer, which replaced the deadline"`
	WarnAt          *time.Time `json:"warn_at,omitempty"`
	MetAt           *time.Time `json:"met_at,omitempty"`
	BreachedAt      *time.Time `json:"breached_at,omitempty" doc:"Set when the deadline passed unmet, even if met later"`
	MinutesLeft     float64    `json:"minutes_left" doc:"Time left in the target's unit; negative when overdue; 0 once met or cancelled"`
	MinutesUsed     float64    `json:"minutes_used"`
	PausedMinutes   float64    `json:"paused_minutes"`
	EscalationLevel int        `json:"escalation_level" doc:"0 nothing fired, 1 breached, 2+ escalation level"`
}

// TicketSLA is everything the SLA knows about one ticket.
type TicketSLA struct {
	TicketID           string      `json:"ticket_id"`
	PolicyID           string      `json:"policy_id,omitempty"`
	PolicyName         string      `json:"policy_name,omitempty"`
	CalendarID         string      `json:"calendar_id,omitempty"`
	NextDueAt          *time.Time  `json:"next_due_at,omitempty" doc:"The earliest deadline of a running clock"`
	Clocks             []ClockView `json:"clocks"`
	ProgressUpdates    int         `json:"progress_updates" doc:"Public replies so far"`
	MinProgressUpdates int         `json:"min_progress_updates"`
	WaiverReason       string      `json:"waiver_reason,omitempty"`
	WaivedBy           string      `json:"waived_by,omitempty"`
	Agreements         []Agreement `json:"agreements"`
}

// TicketPolicy returns the policy that governs a ticket, or nil when none
// does: a workflow on the ticket counts its stage deadlines in the
// policy's calendar, takes the policy's stage deadlines by key and its
// progress-update minimum.
func (s *Service) TicketPolicy(ctx context.Context, q database.Querier, ticketID string) (*Policy, error) {
	st, err := loadTicketState(ctx, q, ticketID)
	if err != nil || st.PolicyID == "" {
		return nil, err
	}
	return getPolicy(ctx, q, st.PolicyID)
}

// ForTicket returns the ticket's clocks with their state and time left as
// of now.
func (s *Service) ForTicket(ctx context.Context, ticketID string) (*TicketSLA, error) {
	t, err := s.Tickets.Get(ctx, ticketID)
	if err != nil {
		return nil, err
	}
	q := s.DB.Read
	st, err := loadTicketState(ctx, q, t.ID)
	if err != nil {
		return nil, err
	}
	out := &TicketSLA{TicketID: t.ID, PolicyID: st.PolicyID, WaiverReason: st.WaiverReason, WaivedBy: st.WaivedBy, Clocks: []ClockView{}}
	var pol *Policy
	if st.PolicyID != "" {
		if pol, err = getPolicy(ctx, q, st.PolicyID); err != nil {
			return nil, err
		}
		out.PolicyName, out.CalendarID, out.MinProgressUpdates = pol.Name, pol.CalendarID, pol.MinProgressUpdates
	}
	clocks, err := ticketClocks(ctx, q, t.ID)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	for _, k := range clocks {
		v, err := s.view(ctx, k, now)
		if err != nil {
			return nil, err
		}
		out.Clocks = append(out.Clocks, v)
		if k.Open() && k.PausedSince == nil && (out.NextDueAt == nil || k.DueAt.Before(*out.NextDueAt)) {
			due := k.DueAt
			out.NextDueAt = &due
		}
	}
	if out.ProgressUpdates, err = countReplies(ctx, q, t.ID); err != nil {
		return nil, err
	}
	if out.Agreements, err = listAgreements(ctx, q, t.ID); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Service) view(ctx context.Context, k *Clock, now time.Time) (ClockView, error) {
	unit := Elapsed
	if k.Business {
		unit = Business
	}
	v := ClockView{Target: k.Target, Cycle: k.Cycle, State: k.State(), Unit: unit, StartedAt: k.StartedAt, DueAt: k.DueAt,
		AgreedDueAt: k.AgreedDueAt, WarnAt: k.WarnAt, MetAt: k.MetAt, BreachedAt: k.BreachedAt, EscalationLevel: k.Level,
		MinutesUsed: k.Used.Minutes(), PausedMinutes: k.Paused.Minutes()}
	if !k.Open() {
		return v, nil
	}
	var m Meter = realTime{}
	if k.Business && k.CalendarID != "" {
		cal, err := s.Calendars.Compiled(ctx, s.DB.Read, k.CalendarID)
		if err != nil {
			return v, err
		}
		m = cal
	}
	v.MinutesLeft = k.Left(m, now).Minutes()
	end := now
	if k.PausedSince != nil {
		end = *k.PausedSince
	}
	v.MinutesUsed = max(m.Between(k.StartedAt, end)-k.Paused, 0).Minutes()
	return v, nil
}

// DueItem is a ticket in the due-next list with its most urgent clock.
type DueItem struct {
	Ticket *ticket.Ticket `json:"ticket"`
	Clock  ClockView      `json:"clock"`
}

// DueFilter narrows the due-next list to a queue.
type DueFilter struct {
	Assignee   string // a staff id, or "none" for unassigned tickets
	Department string // a department id, or "none"
	Limit      int
}

// Due returns tickets the actor may see in the order their running clocks
// fall due, overdue first. It walks the due index, so it costs the same
// with 100 or 100,000 open tickets.
func (s *Service) Due(ctx context.Context, f DueFilter) ([]DueItem, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 25
	}
	var fs kefu.Fields
	if limit > 100 {
		fs.Add("limit", "must be at most 100")
	}
	where, args := "", []any{}
	for _, c := range []struct{ field, col, v string }{{"assignee", "assignee_id", f.Assignee}, {"department", "department_id", f.Department}} {
		switch {
		case c.v == "":
		case c.v == "none":
			where += " AND ticket_id IN (SELECT id FROM tickets WHERE " + c.col + " IS NULL)"
		case !kefu.ValidID(c.v):
			fs.Add(c.field, "is not an id")
		default:
			args = append(args, c.v)
			where += fmt.Sprintf(" AND ticket_id IN (SELECT id FROM tickets WHERE %s = $%d)", c.col, len(args))
		}
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	now := s.Now()
	out := []DueItem{}
	seen := map[string]bool{}
	// Tickets the actor may not see are skipped, so read ahead.
	for offset := 0; len(out) < limit; offset += 4 * limit {
		batch, err := queryClocks(ctx, s.DB.Read, `WHERE met_at IS NULL AND cancelled_at IS NULL AND paused_since IS NULL`+where+`
			ORDER BY due_at, ticket_id LIMIT `+fmt.Sprint(4*limit)+` OFFSET `+fmt.Sprint(offset), args...)
		if err != nil {
			return nil, err
		}
		for _, k := range batch {
			if seen[k.TicketID] || len(out) == limit {
				continue
			}
			seen[k.TicketID] = true
			t, err := s.Tickets.Get(ctx, k.TicketID)
			if kefu.IsCode(err, kefu.NotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			v, err := s.view(ctx, k, now)
			if err != nil {
				return nil, err
			}
			out = append(out, DueItem{Ticket: t, Clock: v})
		}
		if len(batch) < 4*limit {
			break
		}
	}
	return out, nil
}

// Summary is a ticket's open clocks, for a row of a ticket list.
type Summary struct {
	TicketID  string      `json:"ticket_id"`
	NextDueAt *time.Time  `json:"next_due_at,omitempty" doc:"The earliest deadline of a running clock"`
	Clocks    []ClockView `json:"clocks" doc:"Running, paused and breached clocks; met and cancelled ones are left out"`
}

// Summaries returns the open clocks of up to 100 tickets the actor may
// see (others are left out), in the order asked, with one query for the
// clocks.
func (s *Service) Summaries(ctx context.Context, ticketIDs []string) ([]Summary, error) {
	if len(ticketIDs) > 100 {
		return nil, kefu.Fieldf("ids", "at most 100 tickets at once")
	}
	out := []Summary{}
	index := map[string]int{}
	var args []any
	for _, id := range ticketIDs {
		t, err := s.Tickets.Get(ctx, id)
		if kefu.IsCode(err, kefu.NotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if _, dup := index[t.ID]; dup {
			continue
		}
		index[t.ID] = len(out)
		out = append(out, Summary{TicketID: t.ID, Clocks: []ClockView{}})
		args = append(args, t.ID)
	}
	if len(args) == 0 {
		return out, nil
	}
	clocks, err := queryClocks(ctx, s.DB.Read, `WHERE ticket_id IN (`+database.Placeholders(1, len(args))+`)
		AND met_at IS NULL AND cancelled_at IS NULL ORDER BY due_at`, args...)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	for _, k := range clocks {
		v, err := s.view(ctx, k, now)
		if err != nil {
			return nil, err
		}
		sm := &out[index[k.TicketID]]
		sm.Clocks = append(sm.Clocks, v)
		if k.PausedSince == nil && sm.NextDueAt == nil {
			due := k.DueAt
			sm.NextDueAt = &due
		}
	}
	return out, nil
}
