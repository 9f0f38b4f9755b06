// Command kefu-load puts a real Kefu under load and measures it. It
// runs `kefu serve` on loopback itself, or drives one already running.
//
// chat: agents' consoles and visitors' widgets talking, timed from the
// POST that sends each message to the stream that delivers it, with the
// server's memory per idle stream and its CPU.
//
// tickets: integrations creating tickets through the API as fast as the
// server answers, with the rate, each request's latency and the CPU per
// ticket.
//
// See docs/benchmarks.md.
//
//	go build -o /tmp/kefu ./cmd/kefu
//	go run ./cmd/kefu-load chat -kefu /tmp/kefu -visitors 1000 -agents 50 -duration 60s
//	go run ./cmd/kefu-load tickets -kefu /tmp/kefu -clients 16 -duration 30s
//	go run ./cmd/kefu-load tickets -url https://kefu.example -token "$TOKEN" -clients 64
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kefu-desk/kefu/internal/chat/chatclient"
)

func main() {
	scenarios := map[string]func([]string){"chat": chatMain, "tickets": ticketsMain}
	if len(os.Args) < 2 || scenarios[os.Args[1]] == nil {
		fail(2, "usage: kefu-load chat|tickets [flags] (see kefu-load chat -h, kefu-load tickets -h)")
	}
	scenarios[os.Args[1]](os.Args[2:])
}

// fail ends the run with one line on stderr.
func fail(code int, msg string) {
	fmt.Fprintln(os.Stderr, "kefu-load:", msg)
	os.Exit(code)
}

const dbUsage = "the store for the server: an empty SQLite path or a postgres:// URL of an empty schema (default: a SQLite file in a temporary directory)"

// logf prints a line of progress with the time.
func logf(format string, args ...any) {
	fmt.Printf("%s  "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

const password = "kefu-load password 1"

// lat collects latencies of one kind.
type lat struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *lat) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *lat) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.d)
}

func (l *lat) report(name string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return fmt.Sprintf("%-34s no samples", name)
	}
	slices.Sort(l.d)
	q := func(p float64) time.Duration { return l.d[min(len(l.d)-1, int(p*float64(len(l.d))))] }
	return fmt.Sprintf("%-34s n=%-6d p50=%-9s p90=%-9s p99=%-9s max=%s", name, len(l.d),
		q(.5).Round(100*time.Microsecond), q(.9).Round(100*time.Microsecond), q(.99).Round(100*time.Microsecond), l.d[len(l.d)-1].Round(100*time.Microsecond))
}

// user is a staff account for startKefu to create, with password.
type user struct{ email, name, role string }

// server is a `kefu serve` run by this tool on loopback, in a data
// directory of its own.
type server struct {
	base string // http://127.0.0.1:port
	cmd  *exec.Cmd
	dir  string
	log  string // the server's log file: warnings and errors
}

// startKefu creates users on db (an empty SQLite file in a temporary
// directory when db is ""), then runs `kefu serve` on a free loopback
// port and waits until it is ready.
func startKefu(ctx context.Context, kefu, db string, users []user) (*server, error) {
	dir, err := os.MkdirTemp("", "kefu-load-")
	if err != nil {
		return nil, err
	}
	s := &server{dir: dir, log: filepath.Join(dir, "serve.log")}
	if db == "" {
		db = filepath.Join(dir, "kefu.db")
	}
	for _, u := range users {
		cmd := exec.Command(kefu, "user", "create", u.email, "--name", u.name, "--role", u.role, "--password", "--db", db, "--data-dir", dir)
		cmd.Stdin = strings.NewReader(password + "\n")
		cmd.Env = append(os.Environ(), "KEFU_DB=", "KEFU_LOG_LEVEL=warn")
		if out, err := cmd.CombinedOutput(); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("kefu user create: %v: %s", err, out)
		}
	}
	addr, err := freeAddr()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	logFile, err := os.Create(s.log)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer logFile.Close()
	s.cmd = exec.Command(kefu, "serve", "--db", db, "--data-dir", dir, "--listen", addr)
	s.cmd.Env = append(os.Environ(), "KEFU_DB=", "KEFU_LISTEN=", "KEFU_LOG_LEVEL=warn")
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s.base = "http://" + addr
	if err := waitReady(ctx, s.base); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

func (s *server) pid() int { return s.cmd.Process.Pid }

// stop shuts the server down as SIGINT does, prints the end of its log
// and removes its directory.
func (s *server) stop() {
	s.cmd.Process.Signal(os.Interrupt)
	s.cmd.Wait()
	if b, _ := os.ReadFile(s.log); len(b) > 0 {
		fmt.Printf("\nserver log (warnings and errors):\n%s", tail(string(b), 20))
	}
	os.RemoveAll(s.dir)
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitReady(ctx context.Context, base string) error {
	c := chatclient.Client("")
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		res, err := c.Get(base + "/readyz")
		if err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == 200 {
				return nil
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return errors.New("kefu did not become ready in 60s")
}

func vmRSS(pid int) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}

// cpuTicks is a process's user and system CPU so far (/proc/PID/stat,
// in clock ticks of 10 ms).
func cpuTicks(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// selfCPU is this process's user and system CPU so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n") + "\n"
}
