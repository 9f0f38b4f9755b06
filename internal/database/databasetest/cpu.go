package databasetest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kefu-desk/kefu/internal/database"
)

// CPUTime is the CPU this process has used, user and system. Per
// operation it shows what an operation costs this process even when
// other work on the machine slows the wall clock.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// clockTick is the unit of /proc's CPU times (USER_HZ, 100 on every
// Linux Kefu runs on).
const clockTick = 10 * time.Millisecond

// PostgresCPU is the CPU used so far by the PostgreSQL server processes
// running on this machine, read from /proc; false where there is none to
// read. A benchmark against a local server reports the server's share of
// an operation with it: the difference between two readings, over
// processes that lived through both (a connection pool's do).
func PostgresCPU() (time.Duration, bool) {
	procs, _ := filepath.Glob("/proc/[0-9]*/stat")
	var total time.Duration
	found := false
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // ended meanwhile
		}
		// pid (comm) state ppid … utime stime: comm may hold spaces, so
		// the fields are counted from its closing parenthesis.
		s := string(b)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open || s[open+1:end] != "postgres" {
			continue
		}
		f := strings.Fields(s[end+1:])
		if len(f) < 13 {
			continue
		}
		utime, _ := strconv.ParseInt(f[11], 10, 64)
		stime, _ := strconv.ParseInt(f[12], 10, 64)
		total += time.Duration(utime+stime) * clockTick
		found = true
	}
	return total, found
}

// Meter measures what a benchmark's operations cost: start it after the
// set-up, report when the operations are done.
type Meter struct {
	b              *testing.B
	db             *database.DB
	cpu, server    time.Duration
	serverOK       bool
	commits, trans int64
}

// StartMeter starts measuring b's operations on db.
func StartMeter(b *testing.B, db *database.DB) *Meter {
	m := &Meter{b: b, db: db}
	b.ResetTimer()
	m.cpu = CPUTime()
	if db.Dialect.Name() == "postgres" {
		m.server, m.serverOK = PostgresCPU()
	}
	m.commits, m.trans = db.CommitGroups()
	return m
}

// Report reports operations (named unit, "tickets" say) per second, this
// process's CPU per operation, the local PostgreSQL server's CPU per
// operation and, on SQLite, transactions per group commit.
func (m *Meter) Report(unit string) {
	b, n := m.b, float64(m.b.N)
	b.ReportMetric(n/b.Elapsed().Seconds(), unit+"/s")
	b.ReportMetric(float64(CPUTime()-m.cpu)/n/1e3, "cpu-µs/op")
	if m.serverOK {
		if server, ok := PostgresCPU(); ok {
			b.ReportMetric(float64(server-m.server)/n/1e3, "pg-cpu-µs/op")
		}
	}
	if commits, trans := m.db.CommitGroups(); commits > m.commits {
		b.ReportMetric(float64(trans-m.trans)/float64(commits-m.commits), "tx/commit")
	}
}
