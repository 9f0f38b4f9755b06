package jobs_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/jobs"
	"github.com/kefu-desk/kefu/internal/testclock"
)

func newClock() *testclock.Clock {
	return testclock.New(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC), 0)
}

func realNow() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// start runs r in the background and returns a function that stops it and
// waits for Run to return.
func start(t *testing.T, r *jobs.Runner) (stop func()) {
	t.Helper()
	if r.Log == nil {
		r.Log = quiet
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Error("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// eventually waits up to 20s for cond, failing the test if it never holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func enqueue(t *testing.T, db *database.DB, q *jobs.Queue, j jobs.Job) string {
	t.Helper()
	var id string
	err := db.InTx(context.Background(), func(tx *sql.Tx) (err error) {
		id, err = q.Enqueue(context.Background(), tx, j)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func get(t *testing.T, q *jobs.Queue, id string) *jobs.Record {
	t.Helper()
	r, err := q.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestEnqueueRollsBackWithTheCaller(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		q := &jobs.Queue{DB: db, Now: realNow, Notifier: &jobs.Notifier{DB: db}}
		refused := errors.New("refused")
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			if _, err := q.Enqueue(ctx, tx, jobs.Job{Kind: "mail", Payload: map[string]string{"to": "a@example.com"}}); err != nil {
				return err
			}
			return refused
		})
		if !errors.Is(err, refused) {
			t.Fatalf("InTx = %v, want the refusal", err)
		}
		got, err := q.List(ctx, jobs.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 0 {
			t.Fatalf("after rollback List has %d jobs, want none", len(got))
		}
		id := enqueue(t, db, q, jobs.Job{Kind: "mail", Payload: map[string]string{"to": "a@example.com"}})
		r := get(t, q, id)
		if r.State != jobs.Pending || r.MaxAttempts != jobs.DefaultMaxAttempts || string(r.Payload) != `{"to":"a@example.com"}` {
			t.Fatalf("stored job = %+v", r)
		}
		if _, err := q.Enqueue(ctx, db.Write, jobs.Job{}); !kefu.IsCode(err, kefu.Invalid) {
			t.Fatalf("Enqueue without kind = %v, want Invalid", err)
		}
	})
}

func TestEachJobRunsOnceAcrossRunners(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		const n = 200
		n1 := &jobs.Notifier{DB: db}
		q := &jobs.Queue{DB: db, Now: realNow, Notifier: n1}
		var calls [n]atomic.Int32
		var total atomic.Int32
		handler := func(ctx context.Context, r *jobs.Record) error {
			var i int
			if err := r.Decode(&i); err != nil {
				return jobs.Permanent(err)
			}
			if cur, ok := jobs.FromContext(ctx); !ok || cur.ID != r.ID {
				return jobs.Permanent(errors.New("context does not carry the job"))
			}
			calls[i].Add(1)
			total.Add(1)
			return nil
		}
		// Two instances: different owners, each with its own notifier
		// (on SQLite the second only polls, as a second process would).
		for i, n := range []*jobs.Notifier{n1, {DB: db}} {
			start(t, &jobs.Runner{DB: db, Now: realNow, Handlers: map[string]jobs.Handler{"count": handler},
				Workers: 4, Poll: 20 * time.Millisecond, Owner: fmt.Sprintf("instance-%d", i), Notifier: n})
		}
		// Half in one transaction, half one per transaction while the
		// runners are already claiming.
		err := db.InTx(context.Background(), func(tx *sql.Tx) error {
			for i := range n / 2 {
				if _, err := q.Enqueue(context.Background(), tx, jobs.Job{Kind: "count", Payload: i}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for i := n / 2; i < n; i++ {
			enqueue(t, db, q, jobs.Job{Kind: "count", Payload: i})
		}
		eventually(t, "all jobs to run", func() bool { return total.Load() >= n })
		eventually(t, "all jobs to be recorded finished", func() bool {
			got, err := q.List(context.Background(), jobs.Filter{State: jobs.Finished, Limit: 500})
			return err == nil && len(got) == n
		})
		owners := map[string]int{}
		got, _ := q.List(context.Background(), jobs.Filter{State: jobs.Finished, Limit: 500})
		for _, r := range got {
			owners[r.LeaseOwner]++
			if r.Attempts != 1 || r.Result != jobs.ResultOK {
				t.Errorf("job %s: attempts %d result %q", r.ID, r.Attempts, r.Result)
			}
		}
		for i := range calls {
			if c := calls[i].Load(); c != 1 {
				t.Errorf("job %d ran %d times", i, c)
			}
		}
		t.Logf("jobs per owner: %v", owners)
	})
}

func TestRetryWithBackoffThenFail(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		clk := newClock()
		n := &jobs.Notifier{DB: db}
		q := &jobs.Queue{DB: db, Now: clk.Now, Notifier: n}
		var calls atomic.Int32
		fail := true
		var mu sync.Mutex
		start(t, &jobs.Runner{DB: db, Now: clk.Now, Poll: 10 * time.Millisecond, Notifier: n,
			Handlers: map[string]jobs.Handler{"flaky": func(ctx context.Context, r *jobs.Record) error {
				calls.Add(1)
				mu.Lock()
				defer mu.Unlock()
				if fail {
					return fmt.Errorf("smtp: 451 try again (attempt %d)", r.Attempts)
				}
				return nil
			}}})
		id := enqueue(t, db, q, jobs.Job{Kind: "flaky", MaxAttempts: 3})
		for attempt := 1; attempt <= 2; attempt++ {
			before := clk.Now()
			eventually(t, fmt.Sprintf("attempt %d to be recorded", attempt), func() bool {
				r := get(t, q, id)
				return r.Attempts == attempt && r.State == jobs.Pending && r.LastError != ""
			})
			r := get(t, q, id)
			// The schedule: 10s·2^(n-1) less up to 25% jitter.
			lo, hi := before.Add(jobs.BackoffBase(attempt)*3/4), before.Add(jobs.BackoffBase(attempt))
			if r.RunAt.Before(lo) || r.RunAt.After(hi) {
				t.Fatalf("after attempt %d run_at = %v, want in [%v, %v]", attempt, r.RunAt, lo, hi)
			}
			want := fmt.Sprintf("smtp: 451 try again (attempt %d)", attempt)
			if r.LastError != want {
				t.Fatalf("last_error = %q, want %q", r.LastError, want)
			}
			// Not due yet: nothing runs until the clock gets there.
			time.Sleep(30 * time.Millisecond)
			if c := calls.Load(); c != int32(attempt) {
				t.Fatalf("handler ran %d times before the backoff ended, want %d", c, attempt)
			}
			clk.Advance(r.RunAt.Sub(clk.Now()))
		}
		eventually(t, "the job to fail for good", func() bool { return get(t, q, id).State == jobs.Failed })
		failed, err := q.List(ctx, jobs.Filter{State: jobs.Failed})
		if err != nil {
			t.Fatal(err)
		}
		if len(failed) != 1 || failed[0].ID != id || failed[0].Result != jobs.ResultExhausted || failed[0].Attempts != 3 {
			t.Fatalf("failed list = %+v", failed)
		}
		mu.Lock()
		fail = false
		mu.Unlock()
		if err := q.Retry(ctx, id); err != nil {
			t.Fatal(err)
		}
		if err := q.Retry(ctx, id); !kefu.IsCode(err, kefu.Conflict) {
			t.Fatalf("second Retry = %v, want Conflict", err)
		}
		eventually(t, "the retried job to finish", func() bool { return get(t, q, id).State == jobs.Finished })
		if r := get(t, q, id); r.Attempts != 1 || r.Result != jobs.ResultOK {
			t.Fatalf("after retry: attempts %d result %q", r.Attempts, r.Result)
		}
	})
}

func TestPermanentAndRetryAt(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		clk := newClock()
		n := &jobs.Notifier{DB: db}
		q := &jobs.Queue{DB: db, Now: clk.Now, Notifier: n}
		later := clk.Now().Add(42 * time.Minute)
		start(t, &jobs.Runner{DB: db, Now: clk.Now, Poll: 10 * time.Millisecond, Notifier: n,
			Handlers: map[string]jobs.Handler{
				"bad":   func(context.Context, *jobs.Record) error { return jobs.Permanent(errors.New("no such mailbox")) },
				"later": func(context.Context, *jobs.Record) error { return jobs.RetryAt(later, errors.New("rate limited")) },
				"panic": func(context.Context, *jobs.Record) error { panic("boom") },
			}})
		bad := enqueue(t, db, q, jobs.Job{Kind: "bad"})
		eventually(t, "the permanent failure", func() bool { return get(t, q, bad).State == jobs.Failed })
		if r := get(t, q, bad); r.Attempts != 1 || r.Result != jobs.ResultPermanent || r.LastError != "no such mailbox" {
			t.Fatalf("permanent failure stored as %+v", r)
		}
		id := enqueue(t, db, q, jobs.Job{Kind: "later"})
		eventually(t, "the rescheduled attempt", func() bool { return get(t, q, id).Attempts == 1 && get(t, q, id).LastError != "" })
		if r := get(t, q, id); !r.RunAt.Equal(later) || r.State != jobs.Pending {
			t.Fatalf("RetryAt stored run_at %v state %s, want %v pending", r.RunAt, r.State, later)
		}
		p := enqueue(t, db, q, jobs.Job{Kind: "panic"})
		eventually(t, "the panic to be recorded", func() bool { return get(t, q, p).LastError == "panic: boom" })
	})
}

func TestExpiredLeaseIsRunAgain(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		clk := newClock()
		q := &jobs.Queue{DB: db, Now: clk.Now}
		id := enqueue(t, db, q, jobs.Job{Kind: "crashy", MaxAttempts: 2})
		// An instance claims it and dies: lease taken, never reported.
		_, err := db.Write.ExecContext(ctx, `UPDATE jobs SET lease_owner = 'dead', lease_until = $1, attempts = 1 WHERE id = $2`,
			clk.Now().Add(time.Minute), id)
		if err != nil {
			t.Fatal(err)
		}
		if r := get(t, q, id); r.State != jobs.Running {
			t.Fatalf("claimed job is %s, want running", r.State)
		}
		var attempts []int
		var mu sync.Mutex
		start(t, &jobs.Runner{DB: db, Now: clk.Now, Poll: 10 * time.Millisecond, Owner: "alive",
			Handlers: map[string]jobs.Handler{"crashy": func(_ context.Context, r *jobs.Record) error {
				mu.Lock()
				attempts = append(attempts, r.Attempts)
				mu.Unlock()
				return nil
			}}})
		time.Sleep(50 * time.Millisecond) // several polls
		mu.Lock()
		if len(attempts) != 0 {
			t.Fatalf("job ran while another owner's lease held: %v", attempts)
		}
		mu.Unlock()
		clk.Advance(time.Minute)
		eventually(t, "the job to run after the lease", func() bool { return get(t, q, id).State == jobs.Finished })
		if r := get(t, q, id); r.LeaseOwner != "alive" || len(attempts) != 1 || attempts[0] != 2 {
			t.Fatalf("rerun: owner %q attempts seen %v", r.LeaseOwner, attempts)
		}

		// The same crash on the last attempt fails the job instead.
		// Enqueued and claimed in one transaction, so the live Runner
		// cannot claim it first.
		var last string
		err = db.InTx(ctx, func(tx *sql.Tx) (err error) {
			if last, err = q.Enqueue(ctx, tx, jobs.Job{Kind: "crashy", MaxAttempts: 1}); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `UPDATE jobs SET lease_owner = 'dead', lease_until = $1, attempts = 1 WHERE id = $2`,
				clk.Now().Add(time.Minute), last)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Minute)
		eventually(t, "the exhausted job to fail", func() bool { return get(t, q, last).State == jobs.Failed })
		if r := get(t, q, last); r.Result != jobs.ResultExhausted || len(attempts) != 1 {
			t.Fatalf("exhausted job: %+v; handler calls %v", r, attempts)
		}
	})
}

func TestDedupKey(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		clk := newClock()
		q := &jobs.Queue{DB: db, Now: clk.Now}
		warn := jobs.Job{Kind: "sla.warn", Key: "ticket-1/first-reply", Payload: 1}
		a := enqueue(t, db, q, warn)
		if b := enqueue(t, db, q, warn); b != a {
			t.Fatalf("second enqueue with the key made %s, want the first %s", b, a)
		}
		if c := enqueue(t, db, q, jobs.Job{Kind: "sla.breach", Key: warn.Key}); c == a {
			t.Fatal("same key of another kind was deduplicated")
		}
		if d := enqueue(t, db, q, jobs.Job{Kind: "sla.warn"}); d == a {
			t.Fatal("a job without a key was deduplicated")
		}
		all, _ := q.List(ctx, jobs.Filter{Kind: "sla.warn"})
		if len(all) != 2 {
			t.Fatalf("%d sla.warn jobs, want 2", len(all))
		}
		// Once the first is done, the key is free again.
		start(t, &jobs.Runner{DB: db, Now: clk.Now, Poll: 10 * time.Millisecond,
			Handlers: map[string]jobs.Handler{"sla.warn": func(context.Context, *jobs.Record) error { return nil }}})
		eventually(t, "the keyed job to finish", func() bool { return get(t, q, a).State == jobs.Finished })
		if e := enqueue(t, db, q, warn); e == a {
			t.Fatal("a finished job's key still deduplicates")
		}
	})
}

func TestCancel(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		clk := newClock()
		q := &jobs.Queue{DB: db, Now: clk.Now}
		id := enqueue(t, db, q, jobs.Job{Kind: "mail", Key: "k", RunAt: clk.Now().Add(time.Hour)})
		if err := q.Cancel(ctx, id); err != nil {
			t.Fatal(err)
		}
		if r := get(t, q, id); r.State != jobs.Finished || r.Result != jobs.ResultCancelled {
			t.Fatalf("cancelled job: %s %q", r.State, r.Result)
		}
		if err := q.Cancel(ctx, id); !kefu.IsCode(err, kefu.Conflict) {
			t.Fatalf("second Cancel = %v, want Conflict", err)
		}
		if err := q.Cancel(ctx, kefu.NewID()); !kefu.IsCode(err, kefu.NotFound) {
			t.Fatalf("Cancel of an unknown job = %v, want NotFound", err)
		}
		// A cancelled job can be retried, unless its key is live again.
		other := enqueue(t, db, q, jobs.Job{Kind: "mail", Key: "k"})
		if err := q.Retry(ctx, id); !kefu.IsCode(err, kefu.Conflict) {
			t.Fatalf("Retry while the key is live = %v, want Conflict", err)
		}
		if err := q.Cancel(ctx, other); err != nil {
			t.Fatal(err)
		}
		if err := q.Retry(ctx, id); err != nil {
			t.Fatal(err)
		}
		if r := get(t, q, id); r.State != jobs.Pending {
			t.Fatalf("retried job is %s", r.State)
		}
		clk.Advance(48 * time.Hour)
		if n, err := q.Purge(ctx, clk.Now()); err != nil || n != 1 {
			t.Fatalf("Purge = %d, %v; want the one finished job", n, err)
		}
	})
}

func TestShutdown(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		q := &jobs.Queue{DB: db, Now: realNow}
		started := make(chan string, 2)
		release := make(chan struct{})
		stop := start(t, &jobs.Runner{DB: db, Now: realNow, Poll: 10 * time.Millisecond, Grace: 200 * time.Millisecond,
			Handlers: map[string]jobs.Handler{
				"short": func(ctx context.Context, r *jobs.Record) error {
					started <- r.ID
					<-release
					return nil
				},
				"stuck": func(ctx context.Context, r *jobs.Record) error {
					started <- r.ID
					<-ctx.Done()
					return ctx.Err()
				},
			}})
		short := enqueue(t, db, q, jobs.Job{Kind: "short"})
		stuck := enqueue(t, db, q, jobs.Job{Kind: "stuck"})
		<-started
		<-started
		go func() {
			time.Sleep(50 * time.Millisecond)
			close(release)
		}()
		stop()
		// The short job finished within the grace; the stuck one was cut
		// off and handed back without spending an attempt.
		if r := get(t, q, short); r.State != jobs.Finished {
			t.Fatalf("short job is %s after shutdown", r.State)
		}
		if r := get(t, q, stuck); r.State != jobs.Pending || r.Attempts != 0 {
			t.Fatalf("stuck job: %s, attempts %d; want pending, 0", r.State, r.Attempts)
		}
	})
}

func TestRunnerClaimsOnlyItsKinds(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		n := &jobs.Notifier{DB: db}
		q := &jobs.Queue{DB: db, Now: realNow, Notifier: n}
		start(t, &jobs.Runner{DB: db, Now: realNow, Poll: 10 * time.Millisecond, Notifier: n,
			Handlers: map[string]jobs.Handler{"known": func(context.Context, *jobs.Record) error { return nil }}})
		unknown := enqueue(t, db, q, jobs.Job{Kind: "from-a-newer-version"})
		known := enqueue(t, db, q, jobs.Job{Kind: "known"})
		eventually(t, "the known job", func() bool { return get(t, q, known).State == jobs.Finished })
		if r := get(t, q, unknown); r.State != jobs.Pending || r.Attempts != 0 {
			t.Fatalf("unknown kind was claimed: %+v", r)
		}
	})
}

// TestWakeUp shows a job enqueued after the Runner went to sleep runs long
// before its next poll: the Notifier delivers the wake-up.
func TestWakeUp(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		n := &jobs.Notifier{DB: db}
		q := &jobs.Queue{DB: db, Now: realNow, Notifier: n}
		ran := make(chan time.Time, 10)
		start(t, &jobs.Runner{DB: db, Now: realNow, Poll: time.Hour, Notifier: n,
			Handlers: map[string]jobs.Handler{"ping": func(context.Context, *jobs.Record) error {
				ran <- time.Now()
				return nil
			}}})
		// The first job also proves the listener is up (a PostgreSQL
		// listener broadcasts once when it starts listening).
		enqueue(t, db, q, jobs.Job{Kind: "ping"})
		select {
		case <-ran:
		case <-time.After(20 * time.Second):
			t.Fatal("first job never ran")
		}
		for range 3 {
			t0 := time.Now()
			enqueue(t, db, q, jobs.Job{Kind: "ping"})
			select {
			case t1 := <-ran:
				t.Logf("%s: commit to handler %v", db.Dialect.Name(), t1.Sub(t0))
			case <-time.After(20 * time.Second):
				t.Fatal("job enqueued after the runner slept did not run without a poll")
			}
		}
	})
}
