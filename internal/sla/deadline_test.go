package sla_test

import (
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/sla"
	"github.com/kefu-desk/kefu/internal/team"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// A deadline another part of Kefu starts is a clock of the ticket: it is
// listed, untouched by the ticket's own changes (a policy with no such
// target does not cancel it), warned, breached and escalated by the sweep
// exactly once, and stops when it is met.
func TestDeadlines(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		calID := e.calendar(t, nanbei())
		e.policy(t, sla.Policy{Name: "first response", CalendarID: calID, Definition: sla.Definition{
			Targets: []sla.Target{target(sla.FirstResponse, 10)}}})
		ts := &team.Service{DB: db, Now: e.clock.Now}
		sup, err := ts.CreateStaff(e.ctx, team.NewStaff{Email: "sup@example.cn", Name: "主管", Role: kefu.RoleSupervisor})
		if err != nil {
			t.Fatal(err)
		}
		// Monday 12 May 2025 10:00: a refund due in 3 working days.
		start := time.Date(2025, 5, 12, 10, 0, 0, 0, cst)
		tk := e.ticketAt(t, start)
		cal, err := e.cals.Compiled(e.ctx, db.Read, calID)
		if err != nil {
			t.Fatal(err)
		}
		if pol, err := e.sla.TicketPolicy(e.ctx, db.Read, tk.ID); err != nil || pol == nil || pol.CalendarID != calID {
			t.Fatalf("ticket policy %+v (%v), want the one counting in %s", pol, err, calID)
		}
		due := cal.AddWorkingDays(start, 3)
		var clockID string
		err = db.InTx(e.ctx, func(tx *sql.Tx) error {
			clockID, err = e.sla.StartDeadline(e.ctx, tx, tk.ID, "refund", calID, start, sla.Deadline{Label: "refund of AS-1001", DueAt: due,
				Rule: sla.Target{Unit: sla.Business, Warn: &sla.Warning{BeforeMinutes: 60},
					Breach:      []sla.Action{{Kind: sla.Notify, To: sla.ToStaff, StaffID: sup.ID}},
					Escalations: []sla.Escalation{{AfterMinutes: 120, Actions: []sla.Action{{Kind: sla.RaisePriority}}}}}})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		refund := e.clock1(t, tk.ID, "refund")
		if !refund.DueAt.Equal(time.Date(2025, 5, 15, 17, 30, 0, 0, cst)) || refund.State != sla.Running {
			t.Fatalf("refund due %s (%s), want Thursday 17:30", refund.DueAt.In(cst), refund.State)
		}
		// The agent replies and solves the ticket: the policy's clock is
		// met, the refund still runs.
		e.clock.Set(start.Add(5 * time.Minute))
		if _, _, err := e.tickets.AddMessage(e.ctx, tk.ID, ticket.NewMessage{Kind: ticket.Reply, Text: "已收到，退款处理中", Status: ticket.Solved}); err != nil {
			t.Fatal(err)
		}
		if c := e.clock1(t, tk.ID, "refund"); c.State != sla.Running {
			t.Fatalf("after solving the ticket the refund is %s, want running", c.State)
		}
		// An hour before Thursday's close the warning fires; at the close
		// the breach notifies the supervisor; two business hours later the
		// escalation raises the priority. Each once, however often swept.
		for _, at := range []time.Time{
			time.Date(2025, 5, 15, 16, 31, 0, 0, cst),
			time.Date(2025, 5, 15, 17, 31, 0, 0, cst),
			time.Date(2025, 5, 16, 10, 31, 0, 0, cst),
		} {
			e.clock.Set(at)
			for range 2 {
				if _, err := e.sla.Sweep(e.ctx); err != nil {
					t.Fatal(err)
				}
			}
		}
		var kinds []string
		rows, err := db.Read.QueryContext(e.ctx, `SELECT kind FROM sla_events WHERE clock_id = $1 ORDER BY level, kind`, clockID)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var k string
			rows.Scan(&k)
			kinds = append(kinds, k)
		}
		rows.Close()
		if got := strings.Join(kinds, ","); got != "breach,warning,escalation" {
			t.Errorf("events %s, want breach,warning,escalation", got)
		}
		supCtx := kefu.WithActor(e.ctx, kefu.Actor{Kind: kefu.ActorStaff, ID: sup.ID, Role: kefu.RoleSupervisor})
		notes, err := e.sla.Notifications(supCtx, false, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		// The warning goes to the assignee: on an unassigned ticket, to
		// the supervisors.
		if len(notes) != 2 || !strings.Contains(notes[0].Text, "refund of AS-1001") || notes[0].Kind != "sla.breach" || notes[1].Kind != "sla.warning" {
			t.Errorf("supervisor's notices %+v, want the breach and the warning, naming the refund", notes)
		}
		after, err := e.tickets.Get(e.ctx, tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		if after.Priority != ticket.High {
			t.Errorf("priority %s after the escalation, want high", after.Priority)
		}
		// Paid on Friday: met, late; the breach stands.
		paid := time.Date(2025, 5, 16, 11, 0, 0, 0, cst)
		e.clock.Set(paid)
		if err := db.InTx(e.ctx, func(tx *sql.Tx) error { return e.sla.EndDeadline(e.ctx, tx, clockID, true, paid) }); err != nil {
			t.Fatal(err)
		}
		vs, err := e.sla.Deadlines(e.ctx, db.Read, []string{clockID})
		if err != nil {
			t.Fatal(err)
		}
		if len(vs) != 1 || vs[0].State != sla.Met || vs[0].MetAt == nil || !vs[0].MetAt.Equal(paid) || vs[0].BreachedAt == nil || vs[0].Level != 2 {
			t.Errorf("deadline after payment %+v, want met late at level 2", vs)
		}
		// A policy target's name is refused for a deadline.
		err = db.InTx(e.ctx, func(tx *sql.Tx) error {
			_, err := e.sla.StartDeadline(e.ctx, tx, tk.ID, sla.Resolution, calID, paid, sla.Deadline{Label: "x", DueAt: paid.Add(time.Hour)})
			return err
		})
		if !kefu.IsCode(err, kefu.Invalid) {
			t.Errorf("deadline named resolution: %v, want invalid", err)
		}
	})
}
