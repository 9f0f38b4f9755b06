package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/auth"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/load"
	"github.com/kefu-desk/kefu/internal/team"
)

// BenchmarkCreateTicketHTTP creates tickets with their first message over
// HTTP (POST /api/v1/tickets, JSON, an API token), from concurrent
// clients on keep-alive connections, against an in-process server on a
// fresh store. One customer in ten is new.
func BenchmarkCreateTicketHTTP(b *testing.B) {
	for _, engine := range databasetest.Engines() {
		b.Run(engine, func(b *testing.B) {
			db := databasetest.Open(b, engine)
			app := newApp(db, b.TempDir(), false, clock, auth.TestParams)
			srv := httptest.NewServer(app.Handler())
			b.Cleanup(srv.Close)
			ctx := kefu.WithActor(context.Background(), kefu.System)
			st, err := app.Team.CreateStaff(ctx, team.NewStaff{Email: "bot@shop.cn", Name: "Shop integration", Role: kefu.RoleAgent})
			if err != nil {
				b.Fatal(err)
			}
			token, _, err := app.Auth.CreateToken(ctx, st.ID, "bench", []string{auth.ScopeTicketsWrite, auth.ScopeTicketsRead}, nil)
			if err != nil {
				b.Fatal(err)
			}
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			post := func(n int64) error {
				req, _ := http.NewRequest("POST", srv.URL+"/api/v1/tickets", bytes.NewReader(load.Ticket(n, "example.cn", "")))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+token)
				res, err := client.Do(req)
				if err != nil {
					return err
				}
				defer res.Body.Close()
				out, _ := io.ReadAll(res.Body)
				if res.StatusCode != http.StatusCreated {
					return fmt.Errorf("status %d: %s", res.StatusCode, out)
				}
				return nil
			}
			for i := range int64(load.ReturningCustomers) {
				if err := post(i); err != nil {
					b.Fatal(err)
				}
			}
			var seq atomic.Int64
			b.SetParallelism(max(1, benchClients()/runtime.GOMAXPROCS(0)))
			meter := databasetest.StartMeter(b, db)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := post(load.ReturningCustomers + seq.Add(1)); err != nil {
						b.Error(err)
						return
					}
				}
			})
			meter.Report("tickets")
		})
	}
}

// BenchmarkIdleRSS builds the kefu binary, runs `kefu serve` on a
// loopback port, waits for /readyz, lets it idle and reports its resident
// memory (VmRSS) in MB. The loop only re-reads the figure; what counts is
// the metric.
func BenchmarkIdleRSS(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Skip("reads /proc")
	}
	bin := buildKefu(b)
	for _, engine := range databasetest.Engines() {
		b.Run(engine, func(b *testing.B) {
			location := filepath.Join(b.TempDir(), "kefu.db")
			if engine == "postgres" {
				location = freshPostgresURL(b)
			}
			addr := freeAddr(b)
			cmd := runKefu(b, bin, "serve", "--db", location, "--data-dir", b.TempDir(), "--listen", addr)
			waitReady(b, "http://"+addr+"/readyz")
			time.Sleep(3 * time.Second) // idle
			var rss float64
			for b.Loop() {
				rss = vmRSS(b, cmd.Process.Pid)
			}
			b.ReportMetric(rss, "RSS-MB")
		})
	}
}

// freshPostgresURL returns the URL of a new migrated schema, removed when
// the benchmark ends.
func freshPostgresURL(b testing.TB) string {
	db := databasetest.Open(b, "postgres")
	var schema string
	if err := db.Read.QueryRow(`SELECT current_schema()`).Scan(&schema); err != nil {
		b.Fatal(err)
	}
	base := databasetest.PostgresURL()
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

func freeAddr(b testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitReady(b testing.TB, url string) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		res, err := http.Get(url)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.Fatalf("%s did not answer within 30s", url)
}

// vmRSS reads a process's resident set size in MB from /proc.
func vmRSS(b *testing.B, pid int) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				b.Fatal(err)
			}
			return float64(kb) / 1024
		}
	}
	b.Fatal("no VmRSS")
	return 0
}

// benchClients is how many clients post at once: KEFU_BENCH_CLIENTS, or
// 16 (a shop's integrations and a busy console, on 2 cores).
func benchClients() int {
	if n, err := strconv.Atoi(os.Getenv("KEFU_BENCH_CLIENTS")); err == nil && n > 0 {
		return n
	}
	return 16
}
