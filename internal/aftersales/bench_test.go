package aftersales_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/aftersales"
	"github.com/kefu-desk/kefu/internal/calendar"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/demo"
	"github.com/kefu-desk/kefu/internal/sla"
)

// The report's target: a year of 1,000,000 orders and 100,000 cases in
// under 2 s.
const (
	benchOrders = 1_000_000
	benchCases  = 100_000
)

// BenchmarkReturnReport computes the after-sales report (return rates by
// reason, SKU, product, supplier and month; refund lead times; QC
// failures; repair turnaround; complaints) over a year of a store with
// 1,000,000 orders and 100,000 cases. Set KEFU_BENCH_LARGE=1: the first
// run builds the store (minutes) and keeps it for later runs, under
// os.TempDir()/kefu-bench or a schema of the test PostgreSQL database.
func BenchmarkReturnReport(b *testing.B) {
	for _, engine := range databasetest.Engines() {
		b.Run(engine, func(b *testing.B) {
			s, ctx := benchStore(b, engine)
			f := aftersales.ReportFilter{From: calendar.Date{Year: 2025, Month: 11, Day: 1}, To: calendar.Date{Year: 2026, Month: 11, Day: 1}, Period: "month"}
			r, err := s.ReturnReport(ctx, f)
			if err != nil {
				b.Fatal(err)
			}
			if r.Orders < benchOrders*99/100 || r.Returns < benchCases/2 || len(r.BySKU) == 0 || len(r.ByPeriod) != 12 {
				b.Fatalf("report over %d orders, %d returns, %d SKUs, %d months; want (nearly) every order, most cases, 12 months",
					r.Orders, r.Returns, len(r.BySKU), len(r.ByPeriod))
			}
			b.ResetTimer()
			cpu0 := databasetest.CPUTime()
			for range b.N {
				if _, err := s.ReturnReport(ctx, f); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric((databasetest.CPUTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
		})
	}
}

// BenchmarkSalesRebuild sums the daily sales of the million orders from
// scratch, as the first refresh of a large shop and the daily rebuild do
// (kefu serve runs them in the background, in transactions of 14 days).
// Set KEFU_BENCH_LARGE=1.
func BenchmarkSalesRebuild(b *testing.B) {
	for _, engine := range databasetest.Engines() {
		b.Run(engine, func(b *testing.B) {
			s, ctx := benchStore(b, engine)
			b.ResetTimer()
			var cpu time.Duration
			for range b.N {
				if _, err := s.DB.Write.ExecContext(ctx, `DELETE FROM aftersales_sales_state`); err != nil {
					b.Fatal(err)
				}
				cpu0 := databasetest.CPUTime()
				if err := s.RefreshSales(ctx); err != nil {
					b.Fatal(err)
				}
				cpu += databasetest.CPUTime() - cpu0
			}
			var n int
			if err := s.DB.Read.QueryRowContext(ctx, `SELECT SUM(orders) FROM aftersales_sales WHERE sku = ''`).Scan(&n); err != nil || n != benchOrders {
				b.Fatalf("the rebuilt sales count %d orders (%v), want %d", n, err, benchOrders)
			}
			b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
		})
	}
}

// benchStore opens the cached store of a million orders and a hundred
// thousand cases on engine, building it on first use (minutes), with a
// service whose clock stands at the end of the store's year.
func benchStore(b *testing.B, engine string) (*aftersales.Service, context.Context) {
	if os.Getenv("KEFU_BENCH_LARGE") == "" {
		b.Skip("set KEFU_BENCH_LARGE=1 to benchmark over a store of a million orders")
	}
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		b.Fatal(err)
	}
	// Midnight in the shop's zone: the year is twelve whole months.
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, shanghai)
	clock := func() time.Time { return now }
	ctx := kefu.WithActor(context.Background(), kefu.System)
	service := func(db *database.DB) *aftersales.Service {
		return &aftersales.Service{DB: db, Now: clock, SLA: &sla.Service{DB: db, Now: clock, Calendars: &calendar.Service{DB: db, Now: clock}}}
	}
	started := time.Now()
	db := databasetest.Cached(b, engine, "aftersales_1m", func(db *database.DB) error {
		err := demo.AftersalesBench(ctx, db, benchOrders, benchCases, now, func(what string, done int) {
			if done%100_000 == 0 {
				b.Logf("%s: %d %s in %s", engine, done, what, time.Since(started).Round(time.Second))
			}
		})
		if err != nil {
			return err
		}
		// kefu serve keeps the daily sales up to date; a store is built
		// with them summed.
		return service(db).RefreshSales(ctx)
	})
	return service(db), ctx
}
