package ticket_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/blob"
	"github.com/kefu-desk/kefu/internal/customer"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/demo"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// BenchmarkCreate creates tickets with their first message through the
// service, from concurrent callers, on a fresh store. One customer in ten
// is new; the others write again.
func BenchmarkCreate(b *testing.B) {
	for _, engine := range databasetest.Engines() {
		b.Run(engine, func(b *testing.B) {
			db := databasetest.Open(b, engine)
			now := func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
			cs := &customer.Service{DB: db, Now: now}
			ts := &ticket.Service{DB: db, Now: now, Blobs: blob.Dir{Root: b.TempDir()}, Customers: cs}
			ctx := kefu.WithActor(context.Background(), kefu.System)
			for i := range 100 {
				if _, err := ts.Create(ctx, benchTicket(int64(i))); err != nil {
					b.Fatal(err)
				}
			}
			var seq atomic.Int64
			b.SetParallelism(4)
			meter := databasetest.StartMeter(b, db)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := ts.Create(ctx, benchTicket(100+seq.Add(1))); err != nil {
						b.Error(err)
						return
					}
				}
			})
			meter.Report("tickets")
		})
	}
}

// benchTicket is the nth ticket of a benchmark: one in ten from a new
// customer, the others from the first hundred customers.
func benchTicket(n int64) ticket.NewTicket {
	email := fmt.Sprintf("c%d@example.cn", n%100)
	if n%10 == 0 {
		email = fmt.Sprintf("new%d@example.cn", n)
	}
	return ticket.NewTicket{Subject: "连衣裙尺码偏小，申请换货", Channel: "api", Category: "return_exchange",
		Customer: ticket.CustomerRef{Email: email, Name: "王芳"}, Tags: []string{"vip"}, OrderNumber: fmt.Sprintf("SO%d", n),
		Message: ticket.NewMessage{Text: "收到的连衣裙偏小，想换大一号，吊牌还在，没有穿过。"}}
}

// largeTickets is the size of the store the list benchmarks read.
const largeTickets = 1_000_000

// BenchmarkList reads a filtered first page of 25 from a store of a
// million tickets, as the console's queues do, and reports the 95th
// percentile latency. Set KEFU_BENCH_LARGE=1: the first run builds the
// store (minutes) and keeps it for later runs, under os.TempDir()/kefu-bench
// for SQLite and in schema kefu_bench_1m_<schema digest> for PostgreSQL.
func BenchmarkList(b *testing.B) {
	if os.Getenv("KEFU_BENCH_LARGE") == "" {
		b.Skip("set KEFU_BENCH_LARGE=1 to benchmark lists over a store of a million tickets")
	}
	for _, engine := range databasetest.Engines() {
		b.Run(engine, func(b *testing.B) {
			db := largeStore(b, engine)
			ts := &ticket.Service{DB: db, Now: time.Now}
			ctx := context.Background()
			var dept, agent, cust string
			one := func(q string, dst *string) {
				if err := db.Read.QueryRowContext(ctx, q).Scan(dst); err != nil {
					b.Fatal(err)
				}
			}
			one(`SELECT CAST(id AS text) FROM departments WHERE slug = 'after-sales'`, &dept)
			one(`SELECT CAST(id AS text) FROM staff WHERE email LIKE 'zhang.wei@%'`, &agent)
			one(`SELECT CAST(customer_id AS text) FROM tickets ORDER BY id DESC LIMIT 1`, &cust)
			admin := kefu.WithActor(ctx, kefu.Actor{Kind: kefu.ActorStaff, ID: kefu.NewID(), Role: kefu.RoleAdmin})
			// An agent sees their department's tickets, unrouted ones and
			// their own: the list query grows ORs.
			agentCtx := kefu.WithActor(ctx, kefu.Actor{Kind: kefu.ActorStaff, ID: agent, Role: kefu.RoleAgent, Departments: []string{dept}})
			for _, c := range []struct {
				name string
				ctx  context.Context
				f    ticket.Filter
			}{
				{"status=open", admin, ticket.Filter{Status: []ticket.Status{ticket.Open}}},
				{"status=new,open,pending", admin, ticket.Filter{Status: []ticket.Status{ticket.New, ticket.Open, ticket.PendingCustomer, ticket.PendingInternal}}},
				{"department", admin, ticket.Filter{DepartmentID: dept}},
				{"department&status=open", admin, ticket.Filter{DepartmentID: dept, Status: []ticket.Status{ticket.Open}}},
				{"assignee", admin, ticket.Filter{AssigneeID: agent}},
				{"assignee&status=open", admin, ticket.Filter{AssigneeID: agent, Status: []ticket.Status{ticket.Open}}},
				{"unassigned", admin, ticket.Filter{AssigneeID: "none"}},
				{"tag=vip", admin, ticket.Filter{Tag: "vip"}},
				{"customer", admin, ticket.Filter{CustomerID: cust}},
				{"category=repair", admin, ticket.Filter{Category: "repair"}},
				{"priority=urgent", admin, ticket.Filter{Priority: []ticket.Priority{ticket.Urgent}}},
				{"all", admin, ticket.Filter{}},
				{"agent/all", agentCtx, ticket.Filter{}},
				{"agent/status=open", agentCtx, ticket.Filter{Status: []ticket.Status{ticket.Open}}},
				{"agent/tag=vip", agentCtx, ticket.Filter{Tag: "vip"}},
			} {
				b.Run(c.name, func(b *testing.B) {
					durs := make([]time.Duration, 0, b.N)
					for b.Loop() {
						start := time.Now()
						p, err := ts.List(c.ctx, c.f)
						durs = append(durs, time.Since(start))
						if err != nil {
							b.Fatal(err)
						}
						if len(p.Tickets) == 0 {
							b.Fatal("empty page")
						}
					}
					reportP95(b, durs)
				})
			}
		})
	}
}

// reportP95 reports the 95th percentile of durs in milliseconds.
func reportP95(b *testing.B, durs []time.Duration) {
	if len(durs) == 0 {
		return
	}
	slices.Sort(durs)
	p95 := durs[(len(durs)*95+99)/100-1]
	b.ReportMetric(float64(p95.Microseconds())/1000, "p95-ms")
}

// largeStore opens the cached store of largeTickets tickets on engine,
// building it on first use (databasetest.Cached: a migration change builds
// a new one and removes the old).
func largeStore(b *testing.B, engine string) *database.DB {
	b.Helper()
	ctx := context.Background()
	started := time.Now()
	return databasetest.Cached(b, engine, fmt.Sprintf("tickets_%dk", largeTickets/1000), func(db *database.DB) error {
		return demo.BenchStore(ctx, db, largeTickets, time.Now().UTC().Truncate(time.Microsecond), func(done int) {
			if done%100_000 == 0 {
				b.Logf("%s: %d tickets built in %s", engine, done, time.Since(started).Round(time.Second))
			}
		})
	})
}
