package sla_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/blob"
	"github.com/kefu-desk/kefu/internal/calendar"
	"github.com/kefu-desk/kefu/internal/customer"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/sla"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// fakeClock is the one clock every service of a test reads.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t.UTC()
	c.mu.Unlock()
}

type env struct {
	db      *database.DB
	clock   *fakeClock
	tickets *ticket.Service
	cals    *calendar.Service
	sla     *sla.Service
	ctx     context.Context
	jobs    *jobLog
}

// jobLog stands in for the job queue: it records what was enqueued.
type jobLog struct {
	mu       sync.Mutex
	keys     map[string]int
	payloads map[string][]string // by kind
}

func (j *jobLog) enqueue(_ context.Context, _ database.Querier, kind, key string, payload []byte, _ time.Time) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.keys[kind+"/"+key]++
	j.payloads[kind] = append(j.payloads[kind], string(payload))
	return nil
}

func newEnv(t testing.TB, db *database.DB) *env {
	clk := &fakeClock{t: time.Date(2025, 9, 1, 0, 0, 0, 0, time.UTC)}
	cs := &customer.Service{DB: db, Now: clk.Now}
	ts := &ticket.Service{DB: db, Now: clk.Now, Blobs: blob.Dir{Root: t.TempDir()}, Customers: cs}
	cals := &calendar.Service{DB: db, Now: clk.Now}
	jobs := &jobLog{keys: map[string]int{}, payloads: map[string][]string{}}
	s := &sla.Service{DB: db, Now: clk.Now, Calendars: cals, Tickets: ts, Enqueue: jobs.enqueue}
	ts.Hooks = append(ts.Hooks, s)
	cals.Hooks = append(cals.Hooks, s)
	return &env{db: db, clock: clk, tickets: ts, cals: cals, sla: s, ctx: kefu.WithActor(context.Background(), kefu.System), jobs: jobs}
}

var (
	cst    = mustZone("Asia/Shanghai")
	berlin = mustZone("Europe/Berlin")
)

func mustZone(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

func nanbei() calendar.Spec {
	day := [][]string{{"08:30", "12:00"}, {"13:30", "17:30"}}
	return calendar.Spec{Name: "Nanbei Chao", Timezone: "Asia/Shanghai",
		Weekly:  calendar.Week{"mon": day, "tue": day, "wed": day, "thu": day, "fri": day},
		Include: []string{calendar.CNStatutory}}
}

func allWeek(name, zone string, hours [][]string, days ...string) calendar.Spec {
	w := calendar.Week{}
	for _, d := range days {
		w[d] = hours
	}
	return calendar.Spec{Name: name, Timezone: zone, Weekly: w}
}

func (e *env) calendar(t testing.TB, spec calendar.Spec) string {
	t.Helper()
	r, err := e.cals.Create(e.ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	return r.ID
}

func (e *env) policy(t testing.TB, p sla.Policy) *sla.Policy {
	t.Helper()
	out, err := e.sla.CreatePolicy(e.ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (e *env) ticketAt(t *testing.T, at time.Time, mutate ...func(*ticket.NewTicket)) *ticket.Ticket {
	t.Helper()
	e.clock.Set(at)
	in := ticket.NewTicket{Subject: "质量问题：拉链坏了", Channel: "chat", Category: "return_exchange",
		Customer: ticket.CustomerRef{Email: "zhao@example.cn", Name: "赵敏"}, Message: ticket.NewMessage{Text: "拉链第一天就坏了"}}
	for _, m := range mutate {
		m(&in)
	}
	tk, err := e.tickets.Create(e.ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func (e *env) clock1(t *testing.T, ticketID string, target sla.TargetKind) sla.ClockView {
	t.Helper()
	v, err := e.sla.ForTicket(e.ctx, ticketID)
	if err != nil {
		t.Fatal(err)
	}
	var found *sla.ClockView
	for i := range v.Clocks {
		if v.Clocks[i].Target == target {
			found = &v.Clocks[i] // the latest cycle wins
		}
	}
	if found == nil {
		t.Fatalf("no %s clock in %+v", target, v.Clocks)
	}
	return *found
}

func target(kind sla.TargetKind, minutes int) sla.Target {
	return sla.Target{Kind: kind, Minutes: minutes, Unit: sla.Business}
}

// TestSeedDeadlines runs the seed calendars' cases through real tickets.
func TestSeedDeadlines(t *testing.T) {
	cases := []struct {
		name    string
		cal     calendar.Spec
		unit    sla.Unit
		minutes int
		arrive  time.Time
		due     time.Time
	}{
		{"lunch break", nanbei(), sla.Business, 10,
			time.Date(2025, 9, 24, 11, 55, 0, 0, cst), time.Date(2025, 9, 24, 13, 35, 0, 0, cst)},
		{"make-up Sunday", nanbei(), sla.Business, 30,
			time.Date(2025, 9, 26, 17, 25, 0, 0, cst), time.Date(2025, 9, 28, 8, 55, 0, 0, cst)},
		{"National Day", nanbei(), sla.Business, 60,
			time.Date(2025, 9, 30, 17, 0, 0, 0, cst), time.Date(2025, 10, 9, 9, 0, 0, 0, cst)},
		{"outside hours starts at opening", nanbei(), sla.Business, 10,
			time.Date(2025, 9, 24, 20, 0, 0, 0, cst), time.Date(2025, 9, 25, 8, 40, 0, 0, cst)},
		{"Berlin across the end of DST",
			allWeek("Berlin office", "Europe/Berlin", [][]string{{"09:00", "18:00"}}, "mon", "tue", "wed", "thu", "fri"), sla.Business, 120,
			time.Date(2025, 10, 24, 17, 0, 0, 0, berlin), time.Date(2025, 10, 27, 10, 0, 0, 0, berlin)},
		{"24/7", allWeek("Always", "Asia/Shanghai", [][]string{{"00:00", "24:00"}}, "mon", "tue", "wed", "thu", "fri", "sat", "sun"), sla.Business, 10,
			time.Date(2025, 10, 1, 23, 55, 0, 0, cst), time.Date(2025, 10, 2, 0, 5, 0, 0, cst)},
		{"calendar minutes ignore hours", nanbei(), sla.Elapsed, 30,
			time.Date(2025, 9, 26, 17, 25, 0, 0, cst), time.Date(2025, 9, 26, 17, 55, 0, 0, cst)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			databasetest.Each(t, func(t *testing.T, db *database.DB) {
				e := newEnv(t, db)
				spec := tc.cal
				spec.Name += " " + tc.name
				calID := e.calendar(t, spec)
				e.policy(t, sla.Policy{Name: "p " + tc.name, CalendarID: calID, Definition: sla.Definition{
					Targets: []sla.Target{{Kind: sla.FirstResponse, Minutes: tc.minutes, Unit: tc.unit}}}})
				tk := e.ticketAt(t, tc.arrive)
				c := e.clock1(t, tk.ID, sla.FirstResponse)
				if !c.DueAt.Equal(tc.due) || c.State != sla.Running {
					t.Fatalf("due %s (%s), want %s", c.DueAt.In(tc.due.Location()), c.State, tc.due)
				}
				// At arrival the whole budget is left, counted in the target's unit.
				if c.MinutesLeft != float64(tc.minutes) {
					t.Errorf("minutes left at arrival %.1f, want %d", c.MinutesLeft, tc.minutes)
				}
			})
		})
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
