package workflow

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/sla"
)

// Stage deadlines are SLA deadlines (sla.StartDeadline) on the stage's
// ticket: the SLA sweep warns, breaches and escalates them exactly once,
// with its in-app and email notices, and they show with the ticket's
// other clocks. Each stage visit runs up to two:
//
//   - the stage deadline: a warning to whoever picked the stage up (or,
//     unpicked, its department) when WarnPercent of the time is used; at
//     the deadline its department's supervisors (and the picker and the
//     follower) are told; past it, the chain's escalation ladder;
//   - the pick-up deadline, when the stage has PickupMinutes: a stage
//     nobody picked up by then goes to its department's supervisors, then
//     up the ladder.
//
// The time counts on the ticket's business calendar: its SLA policy's,
// whose stages list may also set the stage's time by key; else the
// chain's own calendar. With neither, a stage has no deadline.

// stageTime is where and how long a stage's deadline counts.
type stageTime struct {
	calendarID string
	minutes    int
	unit       sla.Unit
}

func (s *Service) stageTime(ctx context.Context, tx *sql.Tx, ticketID string, doc *Document, st *Stage) (stageTime, error) {
	out := stageTime{minutes: st.SLA.Minutes, unit: st.SLA.Unit}
	pol, err := s.SLA.TicketPolicy(ctx, tx, ticketID)
	if err != nil {
		return out, err
	}
	if pol != nil {
		out.calendarID = pol.CalendarID
		for _, ps := range pol.Stages {
			if ps.Key == st.Key {
				out.minutes, out.unit = ps.Minutes, ps.Unit
			}
		}
		return out, nil
	}
	if doc.Calendar != "" {
		err := tx.QueryRowContext(ctx, `SELECT CAST(id AS text) FROM calendars WHERE name = $1`, doc.Calendar).Scan(&out.calendarID)
		if err != nil && err != sql.ErrNoRows {
			return out, fmt.Errorf("workflow: calendar: %w", err)
		}
	}
	return out, nil
}

// startDeadlines starts the deadlines of r's stage st, entered at
// r.StageStartedAt and not yet picked up.
func (s *Service) startDeadlines(ctx context.Context, tx *sql.Tx, r *instanceRow, doc *Document, st *Stage) (stageClock, pickupClock string, err error) {
	tm, err := s.stageTime(ctx, tx, r.TicketID, doc, st)
	if err != nil || tm.calendarID == "" {
		return "", "", err
	}
	cal, err := s.Calendars.Compiled(ctx, tx, tm.calendarID)
	if err != nil {
		return "", "", err
	}
	at := r.StageStartedAt
	due := func(minutes int) time.Time {
		d := time.Duration(minutes) * time.Minute
		if tm.unit == sla.Elapsed {
			return at.Add(d)
		}
		return cal.Add(at, d)
	}
	ladder, err := s.ladder(ctx, tx, doc)
	if err != nil {
		return "", "", err
	}
	stageClock, err = s.SLA.StartDeadline(ctx, tx, r.TicketID, StageDeadline, tm.calendarID, at, sla.Deadline{
		Label: stageLabel(doc, st), DueAt: due(tm.minutes), Rule: stageRule(st, tm.unit, r, ladder)})
	if err != nil || st.SLA.PickupMinutes == 0 {
		return stageClock, "", err
	}
	pickupClock, err = s.SLA.StartDeadline(ctx, tx, r.TicketID, PickupDeadline, tm.calendarID, at, sla.Deadline{
		Label: "pick-up of " + stageLabel(doc, st), DueAt: due(st.SLA.PickupMinutes),
		Rule: sla.Target{Unit: tm.unit, Breach: []sla.Action{supervisorsOf(r.DepartmentID)}, Escalations: ladder}})
	return stageClock, pickupClock, err
}

func stageLabel(doc *Document, st *Stage) string {
	return fmt.Sprintf("stage %q of workflow %q", st.Name.In("en"), doc.Name.In("en"))
}

func supervisorsOf(departmentID string) sla.Action {
	return sla.Action{Kind: sla.Notify, To: sla.ToSupervisors, DepartmentID: departmentID}
}

// stageRule is what the stage deadline fires: its warning goes to the
// picker (unpicked: the department), its breach to the department's
// supervisors, the picker and the follower, then the ladder.
func stageRule(st *Stage, unit sla.Unit, r *instanceRow, ladder []sla.Escalation) sla.Target {
	owner := sla.Action{Kind: sla.Notify, To: sla.ToDepartment, DepartmentID: r.DepartmentID}
	if r.PickedBy != "" {
		owner = sla.Action{Kind: sla.Notify, To: sla.ToStaff, StaffID: r.PickedBy}
	}
	tg := sla.Target{Unit: unit, Breach: []sla.Action{supervisorsOf(r.DepartmentID)}, Escalations: ladder}
	if r.PickedBy != "" {
		tg.Breach = append(tg.Breach, owner)
	}
	if r.FollowerID != "" && r.FollowerID != r.PickedBy {
		tg.Breach = append(tg.Breach, sla.Action{Kind: sla.Notify, To: sla.ToStaff, StaffID: r.FollowerID})
	}
	if st.SLA.WarnPercent > 0 {
		tg.Warn = &sla.Warning{Percent: st.SLA.WarnPercent, Notify: []sla.Action{owner}}
	}
	return tg
}

// ladder is the chain's escalation ladder as SLA escalations.
func (s *Service) ladder(ctx context.Context, tx *sql.Tx, doc *Document) ([]sla.Escalation, error) {
	out := []sla.Escalation{}
	for _, e := range doc.Escalation {
		id, err := s.departmentID(ctx, tx, e.Department)
		if err != nil {
			return nil, err
		}
		out = append(out, sla.Escalation{AfterMinutes: e.AfterMinutes, Actions: []sla.Action{supervisorsOf(id)}})
	}
	return out, nil
}

// pickedUp meets the pick-up deadline and hands the stage deadline's
// notices to the picker (r.PickedBy): the deadline starts again with the
// same due time and the picker as its owner, unless it already fired its
// breach, whose escalations then run on as they are.
func (s *Service) pickedUp(ctx context.Context, tx *sql.Tx, r *instanceRow, doc *Document, st *Stage, at time.Time) error {
	if r.PickupClockID != "" {
		if err := s.SLA.EndDeadline(ctx, tx, r.PickupClockID, true, at); err != nil {
			return err
		}
	}
	if r.StageClockID == "" {
		return nil
	}
	views, err := s.SLA.Deadlines(ctx, tx, []string{r.StageClockID})
	if err != nil || len(views) == 0 || views[0].BreachedAt != nil || views[0].State != sla.Running {
		return err
	}
	old := views[0]
	tm, err := s.stageTime(ctx, tx, r.TicketID, doc, st)
	if err != nil || tm.calendarID == "" {
		return err
	}
	ladder, err := s.ladder(ctx, tx, doc)
	if err != nil {
		return err
	}
	if err := s.SLA.EndDeadline(ctx, tx, r.StageClockID, false, at); err != nil {
		return err
	}
	r.StageClockID, err = s.SLA.StartDeadline(ctx, tx, r.TicketID, StageDeadline, tm.calendarID, r.StageStartedAt, sla.Deadline{
		Label: old.Label, DueAt: old.DueAt, Rule: stageRule(st, tm.unit, r, ladder)})
	return err
}

// stopDeadlines ends the stage's deadlines when it is decided: both are
// met, since someone acted on the stage.
func (s *Service) stopDeadlines(ctx context.Context, tx *sql.Tx, r *instanceRow, at time.Time) error {
	for _, id := range []string{r.PickupClockID, r.StageClockID} {
		if id == "" {
			continue
		}
		if err := s.SLA.EndDeadline(ctx, tx, id, true, at); err != nil && !kefu.IsCode(err, kefu.NotFound) {
			return err
		}
	}
	return nil
}
