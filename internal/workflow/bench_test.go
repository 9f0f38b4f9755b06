package workflow_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/blob"
	"github.com/kefu-desk/kefu/internal/calendar"
	"github.com/kefu-desk/kefu/internal/customer"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/demo"
	"github.com/kefu-desk/kefu/internal/sla"
	"github.com/kefu-desk/kefu/internal/team"
	"github.com/kefu-desk/kefu/internal/ticket"
	"github.com/kefu-desk/kefu/internal/workflow"
)

// bench is a store with the demo's departments, the seed SLA policies,
// the shipped chains, an agent and a warehouse clerk, and n quality chains
// started on return tickets.
type bench struct {
	wf        *workflow.Service
	agent     context.Context
	warehouse context.Context
	ids       []string
}

func newBench(b *testing.B, engine string, n int) *bench {
	b.Helper()
	db := databasetest.Open(b, engine)
	now := func() time.Time { return time.Date(2025, 9, 24, 1, 0, 0, 0, time.UTC) }
	cs := &customer.Service{DB: db, Now: now}
	ts := &ticket.Service{DB: db, Now: now, Blobs: blob.Dir{Root: filepath.Join(b.TempDir(), "blobs")}, Customers: cs}
	tm := &team.Service{DB: db, Now: now}
	cals := &calendar.Service{DB: db, Now: now}
	s := &sla.Service{DB: db, Now: now, Calendars: cals, Tickets: ts}
	ts.Hooks = append(ts.Hooks, s)
	wf := &workflow.Service{DB: db, Now: now, Tickets: ts, Customers: cs, Team: tm, SLA: s, Calendars: cals, Blobs: ts.Blobs}
	ts.Hooks = append(ts.Hooks, wf)
	sys := kefu.WithActor(context.Background(), kefu.System)
	depts := map[string]string{}
	for _, d := range demo.Departments {
		dep, err := tm.CreateDepartment(sys, d)
		if err != nil {
			b.Fatal(err)
		}
		depts[d.Slug] = dep.ID
	}
	if err := demo.SeedSLA(sys, cals, s); err != nil {
		b.Fatal(err)
	}
	if _, err := wf.InstallDefaults(sys); err != nil {
		b.Fatal(err)
	}
	actor := func(email string, role kefu.Role, dept string) context.Context {
		st, err := tm.CreateStaff(sys, team.NewStaff{Email: email, Name: email, Role: role, Departments: []string{dept}})
		if err != nil {
			b.Fatal(err)
		}
		return kefu.WithActor(context.Background(), kefu.Actor{Kind: kefu.ActorStaff, ID: st.ID, Name: st.Name, Role: role, Departments: []string{depts[dept]}})
	}
	e := &bench{wf: wf, agent: actor("agent@shop.cn", kefu.RoleAgent, "customer-service"), warehouse: actor("clerk@shop.cn", kefu.RoleStaff, "warehouse")}
	for i := range n {
		t, err := ts.Create(sys, ticket.NewTicket{Subject: fmt.Sprintf("袖口开线 %d", i), Channel: "email", Category: "return_exchange",
			DepartmentID: depts["customer-service"], Customer: ticket.CustomerRef{Email: fmt.Sprintf("c%d@example.cn", i)},
			Message: ticket.NewMessage{Text: "袖口开线了"}})
		if err != nil {
			b.Fatal(err)
		}
		in, err := wf.Start(e.agent, workflow.StartInput{TicketID: t.ID, Cause: "quality"})
		if err != nil {
			b.Fatal(err)
		}
		e.ids = append(e.ids, in.ID)
	}
	return e
}

// BenchmarkDecide is one hand-off: customer service forwards a quality
// claim to the warehouse (its deadlines met, the warehouse's started on
// the business calendar, the step and audit written), with the instance
// read back as the API answers it.
func BenchmarkDecide(b *testing.B) {
	for _, engine := range databasetest.Engines() {
		b.Run(engine, func(b *testing.B) {
			e := newBench(b, engine, b.N)
			cpu0 := databasetest.CPUTime()
			b.ResetTimer()
			for i := range b.N {
				if _, err := e.wf.Decide(e.agent, e.ids[i], 1, workflow.DecideInput{Decision: workflow.Forward}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((databasetest.CPUTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

// BenchmarkWaitingQueue lists a department's full queue (200 stages, due
// first) and counts the sidebar's queues, as the warehouse's console does
// after every change.
func BenchmarkWaitingQueue(b *testing.B) {
	for _, engine := range databasetest.Engines() {
		e := newBench(b, engine, 200)
		for _, id := range e.ids {
			if _, err := e.wf.Decide(e.agent, id, 1, workflow.DecideInput{Decision: workflow.Forward}); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(engine+"/list", func(b *testing.B) {
			cpu0 := databasetest.CPUTime()
			for range b.N {
				is, err := e.wf.List(e.warehouse, workflow.ListFilter{Queue: workflow.QueueWaiting})
				if err != nil || len(is) != 200 {
					b.Fatalf("%d, %v", len(is), err)
				}
			}
			b.ReportMetric(float64((databasetest.CPUTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
		})
		b.Run(engine+"/counts", func(b *testing.B) {
			cpu0 := databasetest.CPUTime()
			for range b.N {
				n, err := e.wf.Counts(e.warehouse)
				if err != nil || n[workflow.QueueWaiting] != 200 {
					b.Fatalf("%v, %v", n, err)
				}
			}
			b.ReportMetric(float64((databasetest.CPUTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}
