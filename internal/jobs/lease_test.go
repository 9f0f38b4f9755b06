package jobs_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/jobs"
)

func TestLeaseHasOneHolder(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		clk := newClock()
		a := &jobs.Leases{DB: db, Now: clk.Now, Owner: "a"}
		b := &jobs.Leases{DB: db, Now: clk.Now, Owner: "b"}
		must := func(ok bool, err error) bool {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		if !must(a.TryAcquire(ctx, "sla", time.Minute)) {
			t.Fatal("a could not take a free lease")
		}
		if must(b.TryAcquire(ctx, "sla", time.Minute)) {
			t.Fatal("b took a lease a holds")
		}
		if !must(a.TryAcquire(ctx, "sla", time.Minute)) || !must(a.Renew(ctx, "sla", time.Minute)) {
			t.Fatal("a could not extend its own lease")
		}
		if must(b.Renew(ctx, "sla", time.Minute)) {
			t.Fatal("b renewed a lease it does not hold")
		}
		clk.Advance(time.Minute) // a's lease has now run out
		if must(a.Renew(ctx, "sla", time.Minute)) {
			t.Fatal("a renewed an expired lease")
		}
		if !must(b.TryAcquire(ctx, "sla", time.Minute)) {
			t.Fatal("b could not take an expired lease")
		}
		if must(a.TryAcquire(ctx, "sla", time.Minute)) {
			t.Fatal("a took the lease back from b")
		}
		if err := a.Release(ctx, "sla"); err != nil { // not a's: no effect
			t.Fatal(err)
		}
		if must(a.TryAcquire(ctx, "sla", time.Minute)) {
			t.Fatal("a's release freed b's lease")
		}
		if err := b.Release(ctx, "sla"); err != nil {
			t.Fatal(err)
		}
		if !must(a.TryAcquire(ctx, "sla", time.Minute)) {
			t.Fatal("a could not take a released lease")
		}
	})
}

func TestHold(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		a := &jobs.Leases{DB: db, Now: realNow, Owner: "a"}
		b := &jobs.Leases{DB: db, Now: realNow, Owner: "b"}
		inside := make(chan struct{})
		leave := make(chan struct{})
		done := make(chan error, 1)
		go func() {
			// A short ttl, so the renewals have to keep it held.
			ran, err := a.Hold(ctx, "imap", 60*time.Millisecond, func(ctx context.Context) error {
				close(inside)
				select {
				case <-leave:
					return nil
				case <-ctx.Done():
					return context.Cause(ctx)
				}
			})
			if !ran && err == nil {
				err = errors.New("a did not run")
			}
			done <- err
		}()
		<-inside
		time.Sleep(150 * time.Millisecond) // beyond the ttl: renewed
		if ran, err := b.Hold(ctx, "imap", time.Minute, func(context.Context) error { return nil }); err != nil || ran {
			t.Fatalf("b.Hold while a holds = %v, %v", ran, err)
		}
		close(leave)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if ran, err := b.Hold(ctx, "imap", time.Minute, func(context.Context) error { return nil }); err != nil || !ran {
			t.Fatalf("b.Hold after a released = %v, %v", ran, err)
		}
	})
}

// TestEveryRunsOncePerPeriod runs the same periodic work on two instances:
// each period exactly one of them runs it.
func TestEveryRunsOncePerPeriod(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		const interval = 100 * time.Millisecond
		const periods = 8
		var mu sync.Mutex
		var untils []time.Time
		var by = map[string]int{}
		var inside atomic.Int32
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for _, owner := range []string{"a", "b"} {
			l := &jobs.Leases{DB: db, Now: realNow, Owner: owner, Log: quiet}
			wg.Go(func() {
				err := l.Every(ctx, "sweep", interval, func(context.Context) error {
					if inside.Add(1) != 1 {
						t.Error("two instances ran the sweep at once")
					}
					defer inside.Add(-1)
					// The lease's own bound marks the period this run
					// belongs to.
					var until time.Time
					if err := db.Read.QueryRow(`SELECT until FROM leases WHERE name = 'sweep'`).Scan(&until); err != nil {
						t.Error(err)
					}
					mu.Lock()
					untils = append(untils, until)
					by[owner]++
					mu.Unlock()
					time.Sleep(interval / 10)
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		begin := time.Now()
		time.Sleep(periods*interval + interval/2)
		cancel()
		wg.Wait()
		elapsed := time.Since(begin)
		mu.Lock()
		defer mu.Unlock()
		// At most one run per started period…
		if max := int(elapsed/interval) + 1; len(untils) > max {
			t.Errorf("%d runs in %v, want at most %d", len(untils), elapsed, max)
		}
		// …each in a period that began after the last one ended.
		for i := 1; i < len(untils); i++ {
			if gap := untils[i].Sub(untils[i-1]); gap < interval {
				t.Errorf("runs %d and %d hold leases only %v apart", i-1, i, gap)
			}
		}
		if len(untils) < periods/2 {
			t.Errorf("only %d runs in %d periods", len(untils), periods)
		}
		t.Logf("runs by owner: %v", by)
	})
}
