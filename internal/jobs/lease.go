package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/kefu-desk/kefu/internal/database"
)

// Leases gives a named piece of work one holder across the cluster, for
// periodic sweeps (SLA deadlines, IMAP polls) that must not run on every
// instance at once. A lease is a row in the leases table naming its owner
// and until when it holds; an expired lease is free for anyone.
//
// A lease is a time bound, not a lock: if the holder stalls past the
// lease (a long GC pause, a frozen VM) another instance may start. Work
// under a lease should therefore also be safe to repeat, as jobs are.
// Instances' clocks must agree to well within a lease's length.
type Leases struct {
	DB  *database.DB
	Now func() time.Time
	// Owner names this instance; default DefaultOwner().
	Owner string
	Log   *slog.Logger
}

// ErrLeaseLost is the cause of the context given to work under a lease
// when the lease could not be renewed.
var ErrLeaseLost = errors.New("jobs: lease lost")

func (l *Leases) owner() string {
	if l.Owner != "" {
		return l.Owner
	}
	return DefaultOwner()
}

func (l *Leases) log() *slog.Logger {
	if l.Log != nil {
		return l.Log
	}
	return slog.Default()
}

// TryAcquire takes the lease name for ttl if it is free, expired or
// already this owner's (then it is extended), and reports whether it did.
// The upsert is atomic on both engines: of two instances trying at once,
// one gets the row and the other's condition fails.
func (l *Leases) TryAcquire(ctx context.Context, name string, ttl time.Duration) (bool, error) {
	return l.acquire(ctx, name, ttl, true)
}

// acquire takes the lease if it is free or expired, or with mine also if
// this owner holds it.
func (l *Leases) acquire(ctx context.Context, name string, ttl time.Duration, mine bool) (bool, error) {
	now := l.Now().UTC()
	cond := "leases.until <= $4"
	if mine {
		cond += " OR leases.owner = $2"
	}
	var until nullTime
	err := l.DB.Write.QueryRowContext(ctx, `INSERT INTO leases (name, owner, until) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until
		WHERE `+cond+`
		RETURNING until`, name, l.owner(), now.Add(ttl), now).Scan(&until)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("jobs: lease %s: %w", name, err)
	}
	return true, nil
}

// Renew extends a lease this owner still holds to at least now+ttl and
// reports whether it is still held. An expired lease is not renewed even
// if nobody took it: someone may have held it in between, so the holder
// must not believe it held the lease throughout.
func (l *Leases) Renew(ctx context.Context, name string, ttl time.Duration) (bool, error) {
	now := l.Now().UTC()
	res, err := l.DB.Write.ExecContext(ctx, `UPDATE leases SET until = CASE WHEN until < $3 THEN $3 ELSE until END
		WHERE name = $1 AND owner = $2 AND until > $4`, name, l.owner(), now.Add(ttl), now)
	if err != nil {
		return false, fmt.Errorf("jobs: renew lease %s: %w", name, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Release gives the lease up early, if this owner holds it.
func (l *Leases) Release(ctx context.Context, name string) error {
	_, err := l.DB.Write.ExecContext(ctx, `DELETE FROM leases WHERE name = $1 AND owner = $2`, name, l.owner())
	if err != nil {
		return fmt.Errorf("jobs: release lease %s: %w", name, err)
	}
	return nil
}

// Hold runs fn if it can take the lease name, renewing the lease every
// ttl/3 while fn runs and releasing it afterwards. It reports whether fn
// ran. If the lease is lost, fn's context is cancelled with ErrLeaseLost.
func (l *Leases) Hold(ctx context.Context, name string, ttl time.Duration, fn func(context.Context) error) (bool, error) {
	ok, err := l.TryAcquire(ctx, name, ttl)
	if err != nil || !ok {
		return false, err
	}
	err = l.run(ctx, name, ttl/3, ttl, fn)
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return true, errors.Join(err, l.Release(rctx, name))
}

// Every runs fn at most once per interval across the cluster, until ctx
// is cancelled. Each run holds the lease name for interval from its start
// and leaves it in place when done, so nobody (this instance included)
// starts again before the interval is over; whichever instance takes the
// expired lease first runs next. A run longer than the interval keeps the
// lease by renewing it. fn's errors are logged, and the next period runs
// as usual. Every returns nil when ctx is cancelled.
func (l *Leases) Every(ctx context.Context, name string, interval time.Duration, fn func(context.Context) error) error {
	if interval <= 0 {
		return fmt.Errorf("jobs: every %s: interval must be positive", name)
	}
	for {
		ok, err := l.acquire(ctx, name, interval, false)
		if ok {
			if err := l.run(ctx, name, interval/3, interval/2, fn); err != nil && ctx.Err() == nil {
				l.log().Error("jobs: periodic work failed", "lease", name, "err", err)
			}
		}
		wait := interval
		if err != nil {
			if ctx.Err() == nil {
				l.log().Error("jobs: periodic work: take lease", "lease", name, "err", err)
			}
		} else if until, found, err := l.until(ctx, name); err == nil && found {
			wait = until.Sub(l.Now())
		}
		// A little jitter so instances do not all query at the same
		// instant when the lease expires.
		wait = max(wait, 0) + rand.N(min(interval/20, time.Second)+1)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

func (l *Leases) until(ctx context.Context, name string) (time.Time, bool, error) {
	var until nullTime
	err := l.DB.Read.QueryRowContext(ctx, `SELECT until FROM leases WHERE name = $1`, name).Scan(&until)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	return until.Time, err == nil, err
}

// run calls fn while renewing the lease every renewEvery to at least
// now+extend, cancelling fn's context if the lease is lost.
func (l *Leases) run(ctx context.Context, name string, renewEvery, extend time.Duration, fn func(context.Context) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(max(renewEvery, time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			ok, err := l.Renew(ctx, name, extend)
			if err != nil || !ok {
				if ctx.Err() == nil {
					l.log().Warn("jobs: lease lost; stopping its work", "lease", name, "err", err)
				}
				cancel(ErrLeaseLost)
				return
			}
		}
	})
	err := fn(ctx)
	close(done)
	wg.Wait()
	return err
}
