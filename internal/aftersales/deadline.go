package aftersales

import (
	"context"
	"database/sql"
	"slices"
	"time"

	"github.com/kefu-desk/kefu/internal/sla"
)

// Deadlines of a case, as SLA deadlines on its ticket (sla.Deadline): the
// sweep warns, breaches and escalates them like any SLA target. A refund's
// is keyed by its remedy, since a case may owe more than one.
const (
	deadlineRefund     = "refund"
	deadlineReply      = "complaint_reply"
	deadlineResolution = "complaint_resolution"
)

// rule is what a case's deadline fires: a warning before it, a breach
// that tells the assignee (a complaint's owner too), and an escalation
// to the supervisors that raises the ticket's priority.
func (st *Settings) rule(c *Case, elapsed bool, warnBefore int) sla.Target {
	unit := sla.Business
	if elapsed {
		unit = sla.Elapsed
	}
	t := sla.Target{Unit: unit, Breach: []sla.Action{{Kind: sla.Notify, To: sla.ToAssignee}},
		Escalations: []sla.Escalation{{AfterMinutes: st.EscalateAfterMinutes, Actions: []sla.Action{
			{Kind: sla.Notify, To: sla.ToSupervisors}, {Kind: sla.RaisePriority}, {Kind: sla.AddTag, Tag: "aftersales-overdue"}}}}}
	if c.OwnerID != "" {
		owner := sla.Action{Kind: sla.Notify, To: sla.ToStaff, StaffID: c.OwnerID}
		t.Breach = append(t.Breach, owner)
		t.Escalations[0].Actions = append(t.Escalations[0].Actions, owner)
	}
	if warnBefore > 0 {
		notify := []sla.Action{{Kind: sla.Notify, To: sla.ToAssignee}}
		if c.OwnerID != "" {
			notify = []sla.Action{{Kind: sla.Notify, To: sla.ToStaff, StaffID: c.OwnerID}}
		}
		t.Warn = &sla.Warning{BeforeMinutes: warnBefore, Notify: notify}
	}
	return t
}

// startDeadline starts a deadline of c named purpose, due at due, counted
// in calendar calID from start.
func (s *Service) startDeadline(ctx context.Context, tx *sql.Tx, c *Case, purpose, calID string, start, due time.Time, label string, rule sla.Target) error {
	target := purpose
	if i := len(deadlineRefund); len(purpose) > i && purpose[:i] == deadlineRefund {
		target = deadlineRefund
	}
	id, err := s.SLA.StartDeadline(ctx, tx, c.TicketID, sla.TargetKind(target), calID, start, sla.Deadline{Label: label, DueAt: due, Rule: rule})
	if err != nil {
		return err
	}
	c.deadlineIDs[purpose] = id
	return nil
}

// endDeadline meets c's deadline named purpose, if it runs.
func (s *Service) endDeadline(ctx context.Context, tx *sql.Tx, c *Case, purpose string, at time.Time) error {
	id, ok := c.deadlineIDs[purpose]
	if !ok {
		return nil
	}
	return s.SLA.EndDeadline(ctx, tx, id, true, at)
}

// cancelDeadlines stops every deadline of c still running: nothing is
// owed once a case closes.
func (s *Service) cancelDeadlines(ctx context.Context, tx *sql.Tx, c *Case, at time.Time) error {
	for _, id := range c.deadlineIDs {
		if err := s.SLA.EndDeadline(ctx, tx, id, false, at); err != nil {
			return err
		}
	}
	return nil
}

// startComplaintDeadlines starts seed 003's promises on a new complaint:
// a preliminary reply within hours, resolution within working days.
func (s *Service) startComplaintDeadlines(ctx context.Context, tx *sql.Tx, st *Settings, c *Case, now time.Time) error {
	calID, err := s.calendarFor(ctx, tx, st, c.TicketID)
	if err != nil {
		return err
	}
	hours := st.ComplaintReplyHours
	warn := min(120, hours*60/4)
	if err := s.startDeadline(ctx, tx, c, deadlineReply, calID, now, now.Add(time.Duration(hours)*time.Hour),
		"preliminary reply to complaint "+c.Key, st.rule(c, true, warn)); err != nil {
		return err
	}
	return s.startResolution(ctx, tx, st, c, now)
}

func (s *Service) startResolution(ctx context.Context, tx *sql.Tx, st *Settings, c *Case, now time.Time) error {
	calID, err := s.calendarFor(ctx, tx, st, c.TicketID)
	if err != nil {
		return err
	}
	cal, err := s.SLA.Calendars.Compiled(ctx, tx, calID)
	if err != nil {
		return err
	}
	purpose := deadlineResolution
	if _, again := c.deadlineIDs[purpose]; again {
		// A reopened complaint gets a new resolution deadline; the
		// first one stays in the record as it ended.
		purpose += ":" + now.UTC().Format("20060102T150405")
	}
	return s.startDeadline(ctx, tx, c, purpose, calID, now, cal.AddWorkingDays(now, st.ComplaintResolutionWorkingDays),
		"resolution of complaint "+c.Key, st.rule(c, false, 120))
}

// deadlineKeys lists the deadlines of a case in the order they are shown.
func deadlineKeys(ids map[string]string) []string {
	keys := make([]string, 0, len(ids))
	for k := range ids {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
