package sla_test

import (
	"testing"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/sla"
	"github.com/kefu-desk/kefu/internal/team"
)

// A breach can go to the supervisors of a named department rather than
// the ticket's: an after-sales workflow's stage is owned by a department
// the ticket is not routed to. TicketPolicy names the governing policy.
func TestSupervisorsOfANamedDepartment(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		teams := &team.Service{DB: db, Now: e.clock.Now}
		var sups []string
		for _, slug := range []string{"finance", "warehouse"} {
			dep, err := teams.CreateDepartment(e.ctx, team.NewDepartment{Slug: slug, Name: slug})
			if err != nil {
				t.Fatal(err)
			}
			st, err := teams.CreateStaff(e.ctx, team.NewStaff{Email: slug + "@shop.cn", Name: slug, Role: kefu.RoleSupervisor, Departments: []string{dep.ID}})
			if err != nil {
				t.Fatal(err)
			}
			sups = append(sups, st.ID)
			if slug == "finance" {
				calID := e.calendar(t, nanbei())
				bad := sla.Policy{Name: "bad", CalendarID: calID, Definition: sla.Definition{Targets: []sla.Target{{Kind: sla.FirstResponse, Minutes: 5,
					Breach: []sla.Action{{Kind: sla.Notify, To: sla.ToSupervisors, DepartmentID: kefu.NewID()}}}}}}
				if _, err := e.sla.CreatePolicy(e.ctx, bad); !hasFields(err, "targets[0].breach[0].department_id") {
					t.Fatalf("an unknown department was accepted: %v", err)
				}
				e.policy(t, sla.Policy{Name: "billing", CalendarID: calID, Definition: sla.Definition{Targets: []sla.Target{{Kind: sla.FirstResponse, Minutes: 5,
					Unit: sla.Business, Breach: []sla.Action{{Kind: sla.Notify, To: sla.ToSupervisors, DepartmentID: dep.ID}}}}}})
			}
		}
		tk := e.ticketAt(t, wed(9, 0))
		pol, err := e.sla.TicketPolicy(e.ctx, db.Read, tk.ID)
		if err != nil || pol == nil || pol.Name != "billing" {
			t.Fatalf("TicketPolicy = %+v, %v", pol, err)
		}
		e.sweep(t, wed(9, 6))
		for i, id := range sups {
			me := kefu.WithActor(e.ctx, kefu.Actor{Kind: kefu.ActorStaff, ID: id, Role: kefu.RoleSupervisor})
			ns, err := e.sla.Notifications(me, true, "", 10)
			if want := 1 - i; err != nil || len(ns) != want {
				t.Errorf("supervisor %d has %d notices, want %d (%v)", i, len(ns), want, err)
			}
		}
	})
}
