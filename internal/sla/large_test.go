package sla_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/sla"
	"github.com/kefu-desk/kefu/internal/ticket"
)

const largeTickets = 100_000

// TestSweepLatencyLarge measures, with 100,000 open tickets whose clocks
// run, how long after its deadline the sweep acts on a newly due ticket,
// on both engines, with the real clock and a sweep every second as in
// production. Run it with KEFU_BENCH_LARGE=1 (see docs/sla.md).
func TestSweepLatencyLarge(t *testing.T) {
	if os.Getenv("KEFU_BENCH_LARGE") == "" {
		t.Skip("set KEFU_BENCH_LARGE=1 to build 100,000 clocks and measure sweep latency")
	}
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		real := func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
		e.tickets.Now, e.sla.Now, e.cals.Now = real, real, real
		calID := e.calendar(t, allWeek("Always", "Asia/Shanghai", [][]string{{"00:00", "24:00"}}, "mon", "tue", "wed", "thu", "fri", "sat", "sun"))
		pol := e.policy(t, sla.Policy{Name: "24/7", CalendarID: calID, Definition: sla.Definition{
			Targets: []sla.Target{{Kind: sla.FirstResponse, Minutes: 1, Unit: sla.Elapsed}}}})

		started := time.Now()
		fill(t, db, pol.ID, calID, real())
		t.Logf("%s: %d tickets and running clocks inserted in %s", db.Dialect.Name(), largeTickets, time.Since(started).Round(time.Millisecond))

		// An idle sweep is one range scan of the next_at index.
		const rounds = 20
		started = time.Now()
		for range rounds {
			if n, err := e.sla.Sweep(e.ctx); err != nil || n != 0 {
				t.Fatalf("idle sweep: %d %v", n, err)
			}
		}
		t.Logf("%s: idle sweep over %d clocks: %s each", db.Dialect.Name(), largeTickets, (time.Since(started) / rounds).Round(time.Microsecond))

		ctx, cancel := context.WithCancel(e.ctx)
		defer cancel()
		go e.sla.Run(ctx, time.Second)

		// Tickets that arrived just under a minute ago, with a one-minute
		// first response, fall due over the next few seconds at offsets
		// that do not line up with the sweep's ticks.
		const probes = 8
		for i := range probes {
			at := real().Add(-time.Minute + 2*time.Second + time.Duration(i)*370*time.Millisecond)
			_, err := e.tickets.Create(e.ctx, ticket.NewTicket{Subject: "newly due", Channel: "chat",
				Customer: ticket.CustomerRef{Email: "due@example.cn"}, Message: ticket.NewMessage{Text: "在吗", At: at}})
			if err != nil {
				t.Fatal(err)
			}
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			var n int
			var worst, mean float64
			err := db.Read.QueryRow(`SELECT count(*) FROM sla_events WHERE kind = 'breach'`).Scan(&n)
			if err != nil {
				t.Fatal(err)
			}
			if n == probes {
				rows, err := db.Read.Query(`SELECT due_at, fired_at FROM sla_events WHERE kind = 'breach'`)
				if err != nil {
					t.Fatal(err)
				}
				for rows.Next() {
					var due, fired time.Time
					if err := rows.Scan(&due, &fired); err != nil {
						t.Fatal(err)
					}
					lag := fired.Sub(due).Seconds()
					worst, mean = max(worst, lag), mean+lag/probes
				}
				rows.Close()
				t.Logf("%s: %d newly due tickets among %d: breach fired %.3fs after the deadline on average, %.3fs at worst",
					db.Dialect.Name(), probes, largeTickets, mean, worst)
				if worst > 5 {
					t.Errorf("the sweep acted %.1fs after a deadline, want within 5s", worst)
				}
				cancel()
				// A policy edit recomputes every open ticket, in batches.
				next := *pol
				next.Targets = []sla.Target{{Kind: sla.FirstResponse, Minutes: 2, Unit: sla.Elapsed}}
				started := time.Now()
				if _, err := e.sla.UpdatePolicy(e.ctx, pol.ID, 0, next); err != nil {
					t.Fatal(err)
				}
				t.Logf("%s: a policy edit recomputed %d open tickets in %s", db.Dialect.Name(), largeTickets+probes, time.Since(started).Round(time.Millisecond))
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("only %d of %d breaches fired", n, probes)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

// fill inserts largeTickets tickets with a running first-response clock
// each, due over the next 30 days, with multi-row INSERTs.
func fill(t *testing.T, db *database.DB, policyID, calendarID string, now time.Time) {
	t.Helper()
	ctx := context.Background()
	custID := kefu.NewID()
	if _, err := db.Write.ExecContext(ctx, `INSERT INTO customers (id, name, created_at, updated_at) VALUES ($1, 'bulk', $2, $2)`, custID, now); err != nil {
		t.Fatal(err)
	}
	const batch = 500
	for from := 0; from < largeTickets; from += batch {
		var tq, cq strings.Builder
		var targs, cargs []any
		tq.WriteString(`INSERT INTO tickets (id, number, subject, customer_id, channel, category, priority, status, created_at, updated_at) VALUES `)
		cq.WriteString(`INSERT INTO sla_clocks (id, ticket_id, target, policy_id, calendar_id, business, budget_seconds, started_at, due_at, next_at, updated_at) VALUES `)
		for i := from; i < from+batch; i++ {
			id := kefu.NewID()
			due := now.Add(time.Hour + time.Duration(i)*26*time.Second) // spread over 30 days
			if i > from {
				tq.WriteString(", ")
				cq.WriteString(", ")
			}
			n := len(targs)
			fmt.Fprintf(&tq, "($%d, $%d, 'bulk', $%d, 'email', 'other', 'normal', 'open', $%d, $%d)", n+1, n+2, n+3, n+4, n+4)
			targs = append(targs, id, 1_000_000+i, custID, now)
			m := len(cargs)
			fmt.Fprintf(&cq, "($%d, $%d, 'first_response', $%d, $%d, false, 3600, $%d, $%d, $%d, $%d)", m+1, m+2, m+3, m+4, m+5, m+6, m+6, m+5)
			cargs = append(cargs, kefu.NewID(), id, policyID, calendarID, now, due)
		}
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, tq.String(), targs...); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, cq.String(), cargs...)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if db.Dialect.Name() == "postgres" {
		if _, err := db.Write.ExecContext(ctx, `ANALYZE sla_clocks`); err != nil {
			t.Fatal(err)
		}
	}
}
