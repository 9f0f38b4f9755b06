package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kefu-desk/kefu/internal/chat/chatclient"
	"github.com/kefu-desk/kefu/internal/load"
)

// The tickets scenario is a shop's integrations creating tickets through
// the API, each client posting its next ticket as soon as the last one
// is answered: the rate is what the server sustains. The tickets are
// those of BenchmarkCreateTicketHTTP (cmd/kefu/bench_test.go), from
// internal/load: nine in ten from a hundred returning customers, one in
// ten from a new one.
// Against a server this tool started it also reports the server's CPU
// per ticket; against one at -url, run it on another machine, so that
// the load generator does not take the server's CPU.

type ticketsConfig struct {
	kefu, db, url, token string
	clients              int
	duration             time.Duration
	idempotency          bool
}

func ticketsMain(args []string) {
	var c ticketsConfig
	fs := flag.NewFlagSet("tickets", flag.ExitOnError)
	fs.StringVar(&c.kefu, "kefu", "", "the kefu binary to run (go build -o /tmp/kefu ./cmd/kefu); or give -url and -token")
	fs.StringVar(&c.db, "db", "", dbUsage)
	fs.StringVar(&c.url, "url", "", "a running Kefu to load instead, e.g. https://kefu.example")
	fs.StringVar(&c.token, "token", "", "with -url: an API token with the tickets:write scope (it creates real tickets)")
	fs.IntVar(&c.clients, "clients", 16, "concurrent clients, each posting its next ticket when the last is answered")
	fs.DurationVar(&c.duration, "duration", 30*time.Second, "how long to post")
	fs.BoolVar(&c.idempotency, "idempotency-key", false, "send an Idempotency-Key with every ticket, as a careful integration does")
	fs.Parse(args)
	switch {
	case (c.kefu == "") == (c.url == ""):
		fail(2, "give -kefu (a kefu binary to run) or -url and -token (a running Kefu)")
	case c.url != "" && c.token == "":
		fail(2, "-url needs -token: an API token with the tickets:write scope")
	case c.url != "" && c.db != "":
		fail(2, "-db is for a server this tool runs (-kefu), not for one at -url")
	case c.clients < 1:
		fail(2, "-clients must be at least 1")
	case c.duration <= 0:
		fail(2, "-duration must be positive")
	}
	if err := runTickets(c); err != nil {
		fail(1, err.Error())
	}
}

func runTickets(c ticketsConfig) error {
	ctx := context.Background()
	base, token, pid := strings.TrimRight(c.url, "/"), c.token, 0
	if c.kefu != "" {
		const email = "integration@load.example"
		srv, err := startKefu(ctx, c.kefu, c.db, []user{{email: email, name: "Shop integration", role: "agent"}})
		if err != nil {
			return err
		}
		defer srv.stop()
		base, pid = srv.base, srv.pid()
		if token, err = createToken(ctx, base, email); err != nil {
			return err
		}
	}
	fmt.Printf("kefu-load tickets: %d clients for %s against %s\n", c.clients, c.duration, base)
	fmt.Printf("machine: %d CPUs, load average %s\n", runtime.NumCPU(), loadavg())

	client := &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{MaxIdleConns: c.clients, MaxIdleConnsPerHost: c.clients, IdleConnTimeout: 90 * time.Second}}
	run := strconv.FormatInt(time.Now().UnixNano(), 36) // keeps new customers and keys of two runs apart
	post := func(n int64) error {
		req, err := http.NewRequest("POST", base+"/api/v1/tickets", bytes.NewReader(load.Ticket(n, "load.example", "-"+run)))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		if c.idempotency {
			req.Header.Set("Idempotency-Key", fmt.Sprintf("kefu-load-%s-%d", run, n))
		}
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		out, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
		if res.StatusCode != http.StatusCreated {
			return fmt.Errorf("HTTP %d: %s", res.StatusCode, strings.TrimSpace(string(out)))
		}
		return nil
	}

	logf("warming up: a ticket from each of %d returning customers", load.ReturningCustomers)
	for n := range int64(load.ReturningCustomers) {
		if err := post(n); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}

	logf("posting for %s", c.duration)
	var (
		seq       atomic.Int64
		errs      atomic.Int64
		latencies lat
		firstErr  sync.Once
		wg        sync.WaitGroup
	)
	seq.Store(load.ReturningCustomers)
	cpu0, self0, mach0 := cpuTicks(pid), selfCPU(), readMachineCPU()
	start := time.Now()
	end := start.Add(c.duration)
	for range c.clients {
		wg.Go(func() {
			for time.Now().Before(end) {
				t := time.Now()
				if err := post(seq.Add(1)); err != nil {
					errs.Add(1)
					firstErr.Do(func() { logf("first error: %v", err) })
					continue
				}
				latencies.add(time.Since(t))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu, self, mach := cpuTicks(pid)-cpu0, selfCPU()-self0, readMachineCPU().since(mach0)

	created := latencies.count()
	fmt.Printf("\nresults (%s posting):\n", elapsed.Round(time.Millisecond))
	fmt.Printf("  tickets created: %d (%.0f/s); errors: %d\n", created, float64(created)/elapsed.Seconds(), errs.Load())
	fmt.Println("  " + latencies.report("POST /api/v1/tickets"))
	if created > 0 {
		per := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(created) }
		if pid != 0 {
			fmt.Printf("  server CPU per ticket: %.0f µs", per(cpu))
			if strings.HasPrefix(c.db, "postgres") {
				fmt.Print(" (PostgreSQL's own CPU is not in it)")
			}
			fmt.Println()
		}
		fmt.Printf("  this load generator's CPU per ticket: %.0f µs\n", per(self))
	}
	fmt.Printf("  machine: %.0f%% busy, %.0f%% stolen by the host; load average after: %s\n", 100*mach.busy, 100*mach.steal, loadavg())
	if errs.Load() > 0 {
		return fmt.Errorf("%d requests failed", errs.Load())
	}
	if created == 0 {
		return errors.New("no ticket was created")
	}
	return nil
}

// createToken signs in as email and creates an API token for it that
// may create tickets.
func createToken(ctx context.Context, base, email string) (string, error) {
	a, err := chatclient.SignIn(ctx, base, email, password)
	if err != nil {
		return "", err
	}
	body, _ := json.Marshal(map[string]any{"name": "kefu-load", "scopes": []string{"tickets:read", "tickets:write"}})
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/api/v1/tokens", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := a.HTTP.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var out struct {
		Token string `json:"token"`
	}
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("create an API token: HTTP %d: %s", res.StatusCode, strings.TrimSpace(string(b)))
	}
	if err := json.Unmarshal(b, &out); err != nil || out.Token == "" {
		return "", fmt.Errorf("create an API token: unreadable answer %q", b)
	}
	return out.Token, nil
}

// machineCPU is the machine's CPU time so far, from the first line of
// /proc/stat, in clock ticks.
type machineCPU struct{ total, idle, steal int64 }

func readMachineCPU() machineCPU {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return machineCPU{}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal …
	var m machineCPU
	if len(f) < 2 {
		return m
	}
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		switch i {
		case 3, 4: // idle, iowait
			m.idle += n
		case 7:
			m.steal += n
		case 8, 9: // guest time is counted in user time already
			continue
		}
		m.total += n
	}
	return m
}

// cpuShare is how the machine's time between two readings went.
type cpuShare struct{ busy, steal float64 }

// since is the share of the time between m0 and m that the machine was
// busy, and the share the host took.
func (m machineCPU) since(m0 machineCPU) cpuShare {
	total := float64(m.total - m0.total)
	if total <= 0 {
		return cpuShare{}
	}
	return cpuShare{busy: 1 - float64(m.idle-m0.idle)/total, steal: float64(m.steal-m0.steal) / total}
}
