package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/api"
	"github.com/kefu-desk/kefu/internal/auth"
	"github.com/kefu-desk/kefu/internal/blob"
	"github.com/kefu-desk/kefu/internal/customer"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/demo"
	"github.com/kefu-desk/kefu/internal/events"
	"github.com/kefu-desk/kefu/internal/team"
	"github.com/kefu-desk/kefu/internal/ticket"
	"github.com/kefu-desk/kefu/internal/web"
)

// benchStore is a SQLite store for the page benchmarks: 2,000 tickets
// by default; with KEFU_BENCH_LARGE=1 the cached million-ticket store
// the ticket benchmarks build (os.TempDir()/kefu-bench), built on first
// use (minutes) and kept.
func benchStore(b *testing.B) *database.DB {
	ctx := context.Background()
	n, location := 2000, filepath.Join(b.TempDir(), "kefu.db")
	if os.Getenv("KEFU_BENCH_LARGE") != "" {
		n = 1_000_000
		dir := filepath.Join(os.TempDir(), "kefu-bench")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		location = filepath.Join(dir, "tickets_1000k-"+database.SchemaDigest("sqlite")+".db")
	}
	db, err := database.Open(ctx, location)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	started := time.Now()
	err = demo.BenchStore(ctx, db, n, time.Now().UTC().Truncate(time.Microsecond), func(done int) {
		if done%100_000 == 0 {
			b.Logf("%d tickets built in %s", done, time.Since(started).Round(time.Second))
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	return db
}

// BenchmarkPages renders the console's busiest pages over HTTP, signed
// in, and reports the 95th percentile: the queue (a first page of 50
// with the sidebar), the counts fragment and a ticket page.
func BenchmarkPages(b *testing.B) {
	db := benchStore(b)
	ctx := context.Background()
	sys := kefu.WithActor(ctx, kefu.System)
	now := func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
	cust := &customer.Service{DB: db, Now: now}
	tk := &ticket.Service{DB: db, Now: now, Blobs: blob.Dir{Root: b.TempDir()}, Customers: cust}
	tm := &team.Service{DB: db, Now: now}
	au := &auth.Service{DB: db, Team: tm, Now: now, Params: auth.TestParams}
	tm.Hash = au.HashPassword
	bus := events.New(db, nil)
	defer bus.Close()
	sessions := api.NewSessions(&auth.SessionStore{DB: db, Now: now}, false)
	w := web.New(web.Deps{DB: db, Tickets: tk, Customers: cust, Team: tm, Auth: au, Sessions: sessions, Events: bus, Now: now})
	srv := httptest.NewServer(api.RemoteAddr(sessions.LoadAndSave(w.Handler())))
	defer srv.Close()

	staff, err := tm.ListStaff(sys, team.StaffFilter{Role: kefu.RoleSupervisor})
	if err != nil || len(staff) == 0 {
		b.Fatalf("no supervisor in the bench store: %v", err)
	}
	if err := tm.SetPassword(sys, staff[0].ID, password); err != nil {
		b.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	res, err := c.PostForm(srv.URL+"/signin", url.Values{"email": {staff[0].Email}, "password": {password}})
	if err != nil || !strings.Contains(res.Request.URL.Path, "/queue/") {
		b.Fatalf("sign in: %v", err)
	}
	res.Body.Close()
	page, err := tk.List(sys, ticket.Filter{Status: []ticket.Status{ticket.Open}, Limit: 1})
	if err != nil || len(page.Tickets) == 0 {
		b.Fatalf("no open ticket: %v", err)
	}
	for _, path := range []string{"/queue/unassigned", "/queue/mine", "/counts", "/t/" + page.Tickets[0].Key} {
		b.Run(strings.ReplaceAll(strings.TrimPrefix(path, "/"), "/", "_"), func(b *testing.B) {
			durs := make([]time.Duration, 0, b.N)
			for b.Loop() {
				start := time.Now()
				res, err := c.Get(srv.URL + path)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = drain(res)
				durs = append(durs, time.Since(start))
				if res.StatusCode != 200 {
					b.Fatalf("%s: %d", path, res.StatusCode)
				}
			}
			slices.Sort(durs)
			b.ReportMetric(float64(durs[len(durs)*95/100].Microseconds())/1000, "p95-ms")
		})
	}
}

func drain(res *http.Response) (int64, error) {
	defer res.Body.Close()
	return io.Copy(io.Discard, res.Body)
}
