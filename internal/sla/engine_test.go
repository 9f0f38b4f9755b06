package sla_test

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/sla"
	"github.com/kefu-desk/kefu/internal/team"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// wed is a plain working day in the seed-002 calendar.
func wed(h, m int) time.Time { return time.Date(2025, 9, 24, h, m, 0, 0, cst) }

func (e *env) reply(t *testing.T, id string, at time.Time, solution bool, status ticket.Status) {
	t.Helper()
	e.clock.Set(at)
	if _, _, err := e.tickets.AddMessage(e.ctx, id, ticket.NewMessage{Kind: ticket.Reply, Text: "您好，我们正在处理。", ProposesSolution: solution, Status: status}); err != nil {
		t.Fatal(err)
	}
}

func (e *env) customerSays(t *testing.T, id string, at time.Time) {
	t.Helper()
	e.clock.Set(at)
	if _, _, err := e.tickets.AddMessage(e.ctx, id, ticket.NewMessage{Kind: ticket.FromCustomer, Text: "好的，谢谢"}); err != nil {
		t.Fatal(err)
	}
}

func (e *env) patch(t *testing.T, id string, at time.Time, p ticket.Patch) error {
	t.Helper()
	e.clock.Set(at)
	_, err := e.tickets.Update(e.ctx, id, 0, p)
	return err
}

func (e *env) sweep(t *testing.T, at time.Time) {
	t.Helper()
	e.clock.Set(at)
	if _, err := e.sla.Sweep(e.ctx); err != nil {
		t.Fatal(err)
	}
}

func ptr[T any](v T) *T { return &v }

func seed002(e *env, t *testing.T) (calID string, p *sla.Policy) {
	calID = e.calendar(t, nanbei())
	p = e.policy(t, sla.Policy{Name: "Nanbei Chao after-sales", CalendarID: calID, Definition: sla.Definition{
		Targets: []sla.Target{
			{Kind: sla.FirstResponse, Minutes: 10, Unit: sla.Business, Warn: &sla.Warning{Percent: 80}},
			target(sla.NextReply, 30),
			{Kind: sla.Solution, Minutes: 30, Unit: sla.Business, Warn: &sla.Warning{BeforeMinutes: 5},
				Escalations: []sla.Escalation{{AfterMinutes: 30, Actions: []sla.Action{{Kind: sla.RaisePriority}, {Kind: sla.AddTag, Tag: "sla-escalated"}, {Kind: sla.Notify, To: sla.ToSupervisors}}}}},
			target(sla.Resolution, 240),
		},
		MinProgressUpdates: 3,
	}})
	return calID, p
}

func TestReplyMeetsAndNextReplyCycles(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		seed002(e, t)
		tk := e.ticketAt(t, wed(9, 0))
		e.reply(t, tk.ID, wed(9, 4), false, "")
		if c := e.clock1(t, tk.ID, sla.FirstResponse); c.State != sla.Met || c.MinutesUsed != 4 {
			t.Fatalf("first response %+v", c)
		}
		e.customerSays(t, tk.ID, wed(9, 10))
		nr := e.clock1(t, tk.ID, sla.NextReply)
		if nr.Cycle != 1 || !nr.DueAt.Equal(wed(9, 40)) || nr.State != sla.Running {
			t.Fatalf("next reply %+v", nr)
		}
		e.customerSays(t, tk.ID, wed(9, 20)) // still owed: no new cycle
		e.reply(t, tk.ID, wed(9, 25), true, "")
		if c := e.clock1(t, tk.ID, sla.NextReply); c.Cycle != 1 || c.State != sla.Met {
			t.Fatalf("next reply after reply %+v", c)
		}
		if c := e.clock1(t, tk.ID, sla.Solution); c.State != sla.Met || c.MinutesUsed != 25 {
			t.Fatalf("solution %+v", c)
		}
	})
}

func TestPauseAndResume(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		seed002(e, t)
		tk := e.ticketAt(t, wed(9, 0))
		e.reply(t, tk.ID, wed(9, 2), false, ticket.PendingCustomer)
		res := e.clock1(t, tk.ID, sla.Resolution)
		if res.State != sla.Paused || res.MinutesLeft != 238 {
			t.Fatalf("paused resolution %+v", res)
		}
		// The customer answers after lunch: 09:02–14:00 holds 3h28m of
		// business time, none of which counts. 238 minutes are left: 210
		// until 17:30, 28 on Thursday morning.
		e.customerSays(t, tk.ID, wed(14, 0))
		res = e.clock1(t, tk.ID, sla.Resolution)
		if res.State != sla.Running || res.PausedMinutes != 208 || !res.DueAt.Equal(time.Date(2025, 9, 25, 8, 58, 0, 0, cst)) {
			t.Fatalf("resumed resolution %+v (due %s)", res, res.DueAt.In(cst))
		}
		// A breach can only come after the shifted deadline.
		e.sweep(t, wed(17, 0))
		if c := e.clock1(t, tk.ID, sla.Resolution); c.BreachedAt != nil {
			t.Fatalf("breached while time was left: %+v", c)
		}
	})
}

func TestAgreedNextContact(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		seed002(e, t)
		tk := e.ticketAt(t, wed(9, 0))
		e.reply(t, tk.ID, wed(9, 5), false, "")
		e.clock.Set(wed(9, 20))
		bad, err := e.sla.Agree(e.ctx, tk.ID, sla.NewAgreement{NextContactAt: wed(9, 0), Channel: "fax"})
		if bad != nil || !hasFields(err, "next_contact_at", "channel", "customer_words") {
			t.Fatalf("bad agreement: %v", err)
		}
		next := time.Date(2025, 9, 25, 10, 0, 0, 0, cst)
		ag, err := e.sla.Agree(e.ctx, tk.ID, sla.NewAgreement{NextContactAt: next, Channel: "phone", CustomerWords: "可以，明天上午十点前给我回复"})
		if err != nil {
			t.Fatal(err)
		}
		if ag.Target != sla.Solution {
			t.Fatalf("agreement applied to %s, want the solution due first", ag.Target)
		}
		c := e.clock1(t, tk.ID, sla.Solution)
		if !c.DueAt.Equal(next) || c.AgreedDueAt == nil {
			t.Fatalf("solution after agreement %+v", c)
		}
		// The original deadline (09:30) passes quietly …
		e.sweep(t, wed(9, 31))
		if c := e.clock1(t, tk.ID, sla.Solution); c.State != sla.Running {
			t.Fatalf("after the original deadline: %+v", c)
		}
		// … the agent is warned five minutes before the agreed time …
		e.sweep(t, next.Add(-4*time.Minute))
		var warnings int
		if err := db.Read.QueryRow(`SELECT count(*) FROM sla_events WHERE kind = 'warning' AND level = 2`).Scan(&warnings); err != nil || warnings != 1 {
			t.Fatalf("warnings before the agreed time: %d %v", warnings, err)
		}
		// … the agreed one does not.
		e.sweep(t, next.Add(time.Second))
		if c := e.clock1(t, tk.ID, sla.Solution); c.State != sla.Breached || !c.BreachedAt.Equal(next) {
			t.Fatalf("after the agreed time: %+v", c)
		}
		// The consent is in the customer's audit trail, hence the service file.
		entries, err := audit.List(e.ctx, db.Read, audit.Filter{CustomerID: tk.CustomerID, Entity: "customer"})
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) == 0 || entries[0].Action != "sla.next_contact_agreed" || !strings.Contains(mustJSON(entries[0].Changes), "明天上午十点") {
			t.Fatalf("consent not audited under the customer: %+v", entries)
		}
		// A breached target cannot be papered over with a new agreement.
		_, err = e.sla.Agree(e.ctx, tk.ID, sla.NewAgreement{Target: sla.Solution, NextContactAt: next.Add(24 * time.Hour), Channel: "phone", CustomerWords: "好"})
		if !kefu.IsCode(err, kefu.Conflict) {
			t.Fatalf("agreement on a breached target: %v", err)
		}
	})
}

func TestPriorityChangeSwitchesPolicy(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		calID := e.calendar(t, nanbei())
		e.policy(t, sla.Policy{Name: "urgent", Position: 1, CalendarID: calID, Definition: sla.Definition{
			Match: sla.Match{Priorities: []ticket.Priority{ticket.Urgent}}, Targets: []sla.Target{target(sla.FirstResponse, 10)}}})
		e.policy(t, sla.Policy{Name: "default", Position: 2, CalendarID: calID, Definition: sla.Definition{
			Targets: []sla.Target{target(sla.FirstResponse, 60), target(sla.Resolution, 480)}}})
		tk := e.ticketAt(t, wed(9, 0))
		if c := e.clock1(t, tk.ID, sla.FirstResponse); !c.DueAt.Equal(wed(10, 0)) {
			t.Fatalf("default policy due %s", c.DueAt.In(cst))
		}
		if err := e.patch(t, tk.ID, wed(9, 5), ticket.Patch{Priority: ptr(ticket.Urgent)}); err != nil {
			t.Fatal(err)
		}
		v, err := e.sla.ForTicket(e.ctx, tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		if v.PolicyName != "urgent" {
			t.Fatalf("policy %q after raising the priority", v.PolicyName)
		}
		// Recomputed from the ticket's arrival, not from the change.
		if c := e.clock1(t, tk.ID, sla.FirstResponse); !c.DueAt.Equal(wed(9, 10)) {
			t.Fatalf("urgent policy due %s", c.DueAt.In(cst))
		}
		if c := e.clock1(t, tk.ID, sla.Resolution); c.State != sla.Cancelled {
			t.Fatalf("resolution under a policy without it: %+v", c)
		}
		// A calendar edit recomputes open clocks too: open 24/7.
		cal, err := e.cals.Get(e.ctx, calID)
		if err != nil {
			t.Fatal(err)
		}
		spec := cal.Spec
		spec.Overrides = map[string][][]string{"2025-09-24": {{"08:30", "09:05"}}}
		e.clock.Set(wed(9, 6))
		if _, err := e.cals.Update(e.ctx, calID, cal.Version, spec); err != nil {
			t.Fatal(err)
		}
		// 5 minutes on Wednesday, the other 5 from Thursday's opening.
		if c := e.clock1(t, tk.ID, sla.FirstResponse); !c.DueAt.Equal(time.Date(2025, 9, 25, 8, 35, 0, 0, cst)) {
			t.Fatalf("after the calendar edit due %s", c.DueAt.In(cst))
		}
	})
}

func TestProgressUpdatesBeforeSolving(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		seed002(e, t)
		tk := e.ticketAt(t, wed(9, 0))
		e.reply(t, tk.ID, wed(9, 5), true, "")
		err := e.patch(t, tk.ID, wed(9, 6), ticket.Patch{Status: ptr(ticket.Solved)})
		if !hasFields(err, "status") {
			t.Fatalf("solving after one update: %v", err)
		}
		if got, _ := e.tickets.Get(e.ctx, tk.ID); got.Status == ticket.Solved {
			t.Fatal("the refused change was stored")
		}
		agent := kefu.WithActor(e.ctx, kefu.Actor{Kind: kefu.ActorStaff, ID: kefu.NewID(), Name: "李娜", Role: kefu.RoleAgent})
		if err := e.sla.Waive(agent, tk.ID, "客户已电话确认满意"); !kefu.IsCode(err, kefu.Forbidden) {
			t.Fatalf("agent waiver: %v", err)
		}
		if err := e.sla.Waive(e.ctx, tk.ID, "客户已电话确认满意"); err != nil {
			t.Fatal(err)
		}
		if err := e.patch(t, tk.ID, wed(9, 7), ticket.Patch{Status: ptr(ticket.Solved)}); err != nil {
			t.Fatalf("solving after the waiver: %v", err)
		}
		if c := e.clock1(t, tk.ID, sla.Resolution); c.State != sla.Met {
			t.Fatalf("resolution after solving %+v", c)
		}
	})
}

// TestWarningsAndEscalationsFireOnce sweeps from two instances and
// several goroutines at once, again and again, and counts what fired.
func TestWarningsAndEscalationsFireOnce(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		seed002(e, t)
		tk := e.ticketAt(t, wed(9, 0))
		// A second instance: its own services and caches over the same
		// store, as after a restart or beside another replica.
		other := newEnv(t, db)
		other.clock = e.clock
		other.sla.Now, other.tickets.Now, other.cals.Now = e.clock.Now, e.clock.Now, e.clock.Now
		other.sla.Enqueue = e.jobs.enqueue
		sweepAll := func(at time.Time) {
			e.clock.Set(at)
			var wg sync.WaitGroup
			for i := range 4 {
				s := e.sla
				if i%2 == 1 {
					s = other.sla
				}
				wg.Go(func() {
					if _, err := s.Sweep(e.ctx); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
		}
		sweepAll(wed(9, 8)) // 80 % of first response: warning
		sweepAll(wed(9, 9))
		sweepAll(wed(9, 11)) // first response breached
		e.reply(t, tk.ID, wed(9, 12), false, "")
		sweepAll(wed(9, 31))  // solution breached
		sweepAll(wed(10, 1))  // level 2: priority, tag, supervisors
		sweepAll(wed(10, 30)) // nothing more
		var events int
		if err := db.Read.QueryRow(`SELECT count(*) FROM sla_events`).Scan(&events); err != nil {
			t.Fatal(err)
		}
		if events != 4 {
			t.Errorf("%d events, want 4 (warning, 2 breaches, 1 escalation)", events)
		}
		got, err := e.tickets.Get(e.ctx, tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Priority != ticket.High || !strings.Contains(strings.Join(got.Tags, ","), "sla-escalated") {
			t.Errorf("after escalation: priority %s tags %v", got.Priority, got.Tags)
		}
		if c := e.clock1(t, tk.ID, sla.Solution); c.EscalationLevel != 2 || c.State != sla.Breached {
			t.Errorf("solution clock %+v", c)
		}
		for key, n := range e.jobs.keys {
			if n != 1 && key != sla.RecomputeKind+"/" {
				t.Errorf("job %s enqueued %d times", key, n)
			}
		}
	})
}

func hasFields(err error, fields ...string) bool {
	e, ok := err.(*kefu.Error)
	if !ok {
		return false
	}
	for _, f := range fields {
		found := false
		for _, fe := range e.Fields {
			found = found || fe.Field == f
		}
		if !found {
			return false
		}
	}
	return true
}

// TestBreachActionsAndConditions covers a policy chosen by the customer's
// tier, a breach that reassigns and notifies a department, and an
// auto-reply that starts no next-reply cycle.
func TestBreachActionsAndConditions(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		teams := &team.Service{DB: db, Now: e.clock.Now}
		dep, err := teams.CreateDepartment(e.ctx, team.NewDepartment{Slug: "after-sales", Name: "After-sales"})
		if err != nil {
			t.Fatal(err)
		}
		var staff []string
		for _, email := range []string{"zhang@shop.cn", "liu@shop.cn"} {
			st, err := teams.CreateStaff(e.ctx, team.NewStaff{Email: email, Name: email, Role: kefu.RoleAgent, Departments: []string{dep.ID}})
			if err != nil {
				t.Fatal(err)
			}
			staff = append(staff, st.ID)
		}
		calID := e.calendar(t, nanbei())
		e.policy(t, sla.Policy{Name: "gold members", Position: 1, CalendarID: calID, Definition: sla.Definition{
			Match: sla.Match{Tiers: []string{"gold"}},
			Targets: []sla.Target{target(sla.NextReply, 30), {Kind: sla.FirstResponse, Minutes: 5, Unit: sla.Business,
				Breach: []sla.Action{{Kind: sla.Reassign, StaffID: staff[1]}, {Kind: sla.Notify, To: sla.ToDepartment, DepartmentID: dep.ID}}}}}})
		e.policy(t, sla.Policy{Name: "everyone else", Position: 2, CalendarID: calID, Definition: sla.Definition{
			Targets: []sla.Target{target(sla.FirstResponse, 60)}}})

		tk := e.ticketAt(t, wed(9, 0))
		if v, _ := e.sla.ForTicket(e.ctx, tk.ID); v.PolicyName != "everyone else" {
			t.Fatalf("policy %q before the customer is gold", v.PolicyName)
		}
		if _, err := db.Write.Exec(`UPDATE customers SET tier = 'gold' WHERE id = $1`, tk.CustomerID); err != nil {
			t.Fatal(err)
		}
		assign := staff[0]
		if err := e.patch(t, tk.ID, wed(9, 1), ticket.Patch{AssigneeID: &assign}); err != nil {
			t.Fatal(err)
		}
		if c := e.clock1(t, tk.ID, sla.FirstResponse); !c.DueAt.Equal(wed(9, 5)) {
			t.Fatalf("gold first response due %s", c.DueAt.In(cst))
		}
		e.sweep(t, wed(9, 6))
		got, err := e.tickets.Get(e.ctx, tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.AssigneeID != staff[1] {
			t.Errorf("assignee after the breach %s, want %s", got.AssigneeID, staff[1])
		}
		for _, id := range staff {
			me := kefu.WithActor(e.ctx, kefu.Actor{Kind: kefu.ActorStaff, ID: id, Role: kefu.RoleAgent})
			ns, err := e.sla.Notifications(me, true, "", 10)
			if err != nil || len(ns) != 1 || ns[0].Kind != "sla.breach" {
				t.Errorf("notifications of %s: %+v %v", id, ns, err)
			}
		}

		e.reply(t, tk.ID, wed(9, 10), false, "")
		e.clock.Set(wed(9, 20))
		if _, _, err := e.tickets.AddMessage(e.ctx, tk.ID, ticket.NewMessage{Kind: ticket.FromCustomer, Text: "I am out of the office", Automated: true}); err != nil {
			t.Fatal(err)
		}
		v, err := e.sla.ForTicket(e.ctx, tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range v.Clocks {
			if c.Target == sla.NextReply {
				t.Errorf("an auto-reply started a next-reply clock: %+v", c)
			}
		}
	})
}

// TestPolicyEdit recomputes open clocks when a policy changes, and leaves
// everything as it was when the edit is refused.
func TestPolicyEdit(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		calID := e.calendar(t, nanbei())
		p := e.policy(t, sla.Policy{Name: "default", CalendarID: calID, Definition: sla.Definition{
			Targets: []sla.Target{target(sla.FirstResponse, 60)}}})
		tk := e.ticketAt(t, wed(9, 0))
		bad := *p
		bad.Targets = []sla.Target{{Kind: sla.FirstResponse, Minutes: 0}}
		bad.CalendarID = kefu.NewID()
		if _, err := e.sla.UpdatePolicy(e.ctx, p.ID, p.Version, bad); !hasFields(err, "targets[0].minutes", "calendar_id") {
			t.Fatalf("bad edit: %v", err)
		}
		if got, _ := e.sla.Policy(e.ctx, p.ID); got.Version != 1 || got.Targets[0].Minutes != 60 {
			t.Fatalf("a refused edit changed the policy: %+v", got)
		}
		next := *p
		next.Targets = []sla.Target{target(sla.FirstResponse, 30), target(sla.Resolution, 120)}
		e.clock.Set(wed(9, 10))
		if _, err := e.sla.UpdatePolicy(e.ctx, p.ID, p.Version, next); err != nil {
			t.Fatal(err)
		}
		if _, err := e.sla.UpdatePolicy(e.ctx, p.ID, p.Version, next); !kefu.IsCode(err, kefu.Stale) {
			t.Fatalf("stale edit: %v", err)
		}
		if c := e.clock1(t, tk.ID, sla.FirstResponse); !c.DueAt.Equal(wed(9, 30)) {
			t.Fatalf("first response due %s after the edit", c.DueAt.In(cst))
		}
		if c := e.clock1(t, tk.ID, sla.Resolution); !c.DueAt.Equal(wed(11, 0)) || !c.StartedAt.Equal(wed(9, 0)) {
			t.Fatalf("a target added by the edit: %+v", c)
		}
	})
}

// TestDueOrderAndSummaries lists tickets by their next deadline and shows
// a page of tickets' open clocks in one call.
func TestDueOrderAndSummaries(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		calID := e.calendar(t, nanbei())
		e.policy(t, sla.Policy{Name: "default", CalendarID: calID, Definition: sla.Definition{
			Targets: []sla.Target{target(sla.FirstResponse, 30), target(sla.Resolution, 240)}}})
		late := e.ticketAt(t, wed(9, 0))
		paused := e.ticketAt(t, wed(9, 5))
		soon := e.ticketAt(t, wed(9, 10))
		answered := e.ticketAt(t, wed(9, 15))
		e.reply(t, paused.ID, wed(9, 20), false, ticket.PendingCustomer)
		e.reply(t, answered.ID, wed(9, 21), false, "")
		e.clock.Set(wed(9, 35))
		items, err := e.sla.Due(e.ctx, sla.DueFilter{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, it := range items {
			got = append(got, it.Ticket.Key+" "+string(it.Clock.Target))
		}
		want := []string{late.Key + " first_response", soon.Key + " first_response", answered.Key + " resolution"}
		if strings.Join(got, ", ") != strings.Join(want, ", ") {
			t.Fatalf("due order %v, want %v", got, want)
		}
		if items[0].Clock.MinutesLeft != -5 || items[0].Clock.State != sla.Breached && items[0].Clock.State != sla.Running {
			t.Errorf("overdue clock %+v", items[0].Clock)
		}
		mine := kefu.NewID()
		if mineOnly, err := e.sla.Due(e.ctx, sla.DueFilter{Assignee: mine}); err != nil || len(mineOnly) != 0 {
			t.Fatalf("due for a staff member with no tickets: %v %v", mineOnly, err)
		}
		if _, err := e.sla.Due(e.ctx, sla.DueFilter{Department: "x", Limit: 101}); !hasFields(err, "department", "limit") {
			t.Fatalf("bad due filter: %v", err)
		}
		if unassigned, err := e.sla.Due(e.ctx, sla.DueFilter{Assignee: "none", Limit: 1}); err != nil || len(unassigned) != 1 || unassigned[0].Ticket.ID != late.ID {
			t.Fatalf("unassigned due first: %v %v", unassigned, err)
		}
		sums, err := e.sla.Summaries(e.ctx, []string{paused.ID, kefu.NewID(), late.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(sums) != 2 || sums[0].TicketID != paused.ID || len(sums[0].Clocks) != 1 || sums[0].Clocks[0].State != sla.Paused || sums[0].NextDueAt != nil {
			t.Fatalf("summary of the paused ticket %+v", sums)
		}
		if len(sums[1].Clocks) != 2 || !sums[1].NextDueAt.Equal(wed(9, 30)) {
			t.Fatalf("summary of the late ticket %+v", sums[1])
		}
	})
}

// TestDeferredRecompute moves the recomputation after edits to the job
// queue: the edit enqueues it in its transaction, the job does the work.
func TestDeferredRecompute(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		e.sla.DeferRecompute = true
		calID := e.calendar(t, nanbei())
		p := e.policy(t, sla.Policy{Name: "default", CalendarID: calID, Definition: sla.Definition{
			Targets: []sla.Target{target(sla.FirstResponse, 60)}}})
		tk := e.ticketAt(t, wed(9, 0))
		next := *p
		next.Targets = []sla.Target{target(sla.FirstResponse, 30)}
		if _, err := e.sla.UpdatePolicy(e.ctx, p.ID, 0, next); err != nil {
			t.Fatal(err)
		}
		if c := e.clock1(t, tk.ID, sla.FirstResponse); !c.DueAt.Equal(wed(10, 0)) {
			t.Fatalf("recomputed before the job ran: due %s", c.DueAt.In(cst))
		}
		cal, _ := e.cals.Get(e.ctx, calID)
		spec := cal.Spec
		spec.Overrides = map[string][][]string{"2025-09-24": {{"08:30", "09:10"}}}
		if _, err := e.cals.Update(e.ctx, calID, 0, spec); err != nil {
			t.Fatal(err)
		}
		jobs := e.jobs.payloads[sla.RecomputeKind]
		if len(jobs) != 3 { // policy created, policy edited, calendar edited
			t.Fatalf("recompute jobs %v", jobs)
		}
		for _, payload := range jobs {
			var job struct {
				CalendarID string `json:"calendar_id"`
			}
			if err := json.Unmarshal([]byte(payload), &job); err != nil {
				t.Fatal(err)
			}
			if err := e.sla.Recompute(e.ctx, job.CalendarID); err != nil {
				t.Fatal(err)
			}
		}
		// 10 minutes on Wednesday morning, the other 20 from Thursday's opening.
		if c := e.clock1(t, tk.ID, sla.FirstResponse); !c.DueAt.Equal(time.Date(2025, 9, 25, 8, 50, 0, 0, cst)) {
			t.Fatalf("after the jobs: due %s", c.DueAt.In(cst))
		}
	})
}
