package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/database"
)

// Runner claims due jobs and runs their handlers. Any number of Runners,
// in one process or many, may share a database: a claim takes a lease, so
// each run of a job belongs to one worker.
type Runner struct {
	DB       *database.DB
	Now      func() time.Time
	Handlers map[string]Handler
	// Workers is how many jobs run at once; default 4.
	Workers int
	// Lease is how long a claimed job belongs to its worker; default 5
	// minutes. The handler's context ends at 9/10 of the lease, so a job
	// that hangs is retried rather than run twice at the same time; a
	// Lease must comfortably exceed the longest handler run.
	Lease time.Duration
	// Poll is the longest wait between looks for due jobs when no
	// notification arrives; default 5s. Leases expired by a crashed
	// worker are found this way.
	Poll time.Duration
	// Grace is how long in-flight jobs may go on after Run's context is
	// cancelled before their own contexts are; default 10s. A job cut off
	// this way is released without counting the attempt.
	Grace time.Duration
	// Owner names this instance in leases (and in List, as who ran a
	// job); default the host name and a random suffix.
	Owner string
	// Notifier wakes the Runner soon after an enqueue; nil means polling.
	Notifier *Notifier
	// Backoff gives the delay after a failed attempt; nil means Backoff.
	Backoff func(attempt int) time.Duration
	Log     *slog.Logger
}

// Run claims and runs jobs until ctx is cancelled, then waits for the jobs
// in flight (at most Grace, then until their handlers return) and returns
// nil. It returns an error only if it cannot start.
func (r *Runner) Run(ctx context.Context) error {
	switch {
	case r.DB == nil || r.Now == nil:
		return errors.New("jobs: runner needs DB and Now")
	case len(r.Handlers) == 0:
		return errors.New("jobs: runner has no handlers")
	}
	w := worker{Runner: r, owner: r.Owner, kinds: make([]string, 0, len(r.Handlers))}
	for k := range r.Handlers {
		w.kinds = append(w.kinds, k)
	}
	slices.Sort(w.kinds)
	if w.owner == "" {
		w.owner = DefaultOwner()
	}
	workers := orDefault(r.Workers, 4)
	w.lease = orDefault(r.Lease, 5*time.Minute)
	poll := orDefault(r.Poll, 5*time.Second)
	grace := orDefault(r.Grace, 10*time.Second)

	var wake <-chan struct{}
	if r.Notifier != nil {
		c, unsubscribe := r.Notifier.Subscribe()
		defer unsubscribe()
		wake = c
	}
	// Handlers run on base, which outlives ctx by grace so that a
	// shutdown lets short jobs finish instead of cutting them off.
	base, stopBase := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBase()
	stopAfter := context.AfterFunc(ctx, func() { time.AfterFunc(grace, stopBase) })
	defer stopAfter()

	sem := make(chan struct{}, workers)
	freed := make(chan struct{}, 1)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		wait := poll
		if free := workers - len(sem); free > 0 {
			recs, err := w.claim(ctx, free)
			if err != nil {
				w.log().Error("jobs: claim", "err", err)
			}
			if ctx.Err() != nil {
				// Claimed as the shutdown began: hand them back rather
				// than start work that has only the grace to finish.
				for _, rec := range recs {
					w.record(base, rec, `attempts = attempts - 1`)
				}
				return nil
			}
			for _, rec := range recs {
				sem <- struct{}{}
				wg.Go(func() {
					defer func() {
						<-sem
						select {
						case freed <- struct{}{}:
						default:
						}
					}()
					w.run(base, rec)
				})
			}
			if err == nil && len(recs) == free {
				continue // there may be more due; claim again as workers free up
			}
			if err == nil {
				if due, ok := w.nextDue(ctx); ok {
					wait = min(wait, max(due.Sub(r.Now()), 0))
				}
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-wake:
		case <-freed:
		case <-t.C:
		}
		t.Stop()
	}
}

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

var defaultOwner = sync.OnceValue(func() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "kefu"
	}
	return host + "-" + kefu.NewID()[24:]
})

// DefaultOwner names this process in leases: its host name and a random
// suffix, the same for every Runner and Leases of the process.
func DefaultOwner() string { return defaultOwner() }

// worker is a running Runner's settings with defaults filled in.
type worker struct {
	*Runner
	owner string
	kinds []string
	lease time.Duration
}

func (w *worker) log() *slog.Logger {
	if w.Log != nil {
		return w.Log
	}
	return slog.Default()
}

const recordColumns = `CAST(id AS text), kind, key, payload, run_at, attempts, max_attempts,
	lease_owner, lease_until, last_error, created_at, finished_at, failed_at, result`

// live is the condition for a job that still has to run.
const live = `finished_at IS NULL AND failed_at IS NULL`

// claim leases up to n due jobs of the Runner's kinds to this owner. On
// PostgreSQL the locking SELECT skips rows another Runner is claiming at
// the same moment; on SQLite the statement runs alone on the single writer
// connection. Either way a job is claimed by one worker per lease, and the
// attempt counter it bumps is the fencing token of that claim.
func (w *worker) claim(ctx context.Context, n int) ([]*Record, error) {
	// Not cancelled with Run's context: a claim that commits must also
	// return its rows, or the jobs would sit leased to nobody.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	now := w.Now().UTC()
	args := []any{now, w.owner, now.Add(w.lease), n}
	for _, k := range w.kinds {
		args = append(args, k)
	}
	rows, err := w.DB.Write.QueryContext(ctx, `WITH next AS (
			SELECT id FROM jobs
			WHERE `+live+` AND run_at <= $1 AND (lease_until IS NULL OR lease_until <= $1)
				AND kind IN (`+database.Placeholders(5, len(w.kinds))+`)
			ORDER BY run_at, id LIMIT $4`+w.DB.Dialect.SkipLocked()+`
		)
		UPDATE jobs SET lease_owner = $2, lease_until = $3, attempts = attempts + 1
		WHERE id IN (SELECT id FROM next)
		RETURNING `+recordColumns, args...)
	if err != nil {
		return nil, err
	}
	recs, err := scanRecords(rows, now)
	if err != nil {
		return nil, err
	}
	// RETURNING order is unspecified; run the oldest first.
	slices.SortFunc(recs, func(a, b *Record) int { return a.RunAt.Compare(b.RunAt) })
	return recs, nil
}

// nextDue returns when the earliest job not yet due becomes due, so a
// job scheduled between polls runs on time.
func (w *worker) nextDue(ctx context.Context) (time.Time, bool) {
	args := []any{w.Now().UTC()}
	for _, k := range w.kinds {
		args = append(args, k)
	}
	var due nullTime
	err := w.DB.Read.QueryRowContext(ctx, `SELECT run_at FROM jobs
		WHERE `+live+` AND run_at > $1 AND kind IN (`+database.Placeholders(2, len(w.kinds))+`)
		ORDER BY run_at LIMIT 1`, args...).Scan(&due)
	return due.Time, err == nil && due.Valid
}

// run runs one claimed job and records the outcome.
func (w *worker) run(base context.Context, rec *Record) {
	if rec.Attempts > rec.MaxAttempts {
		// Its last attempt never reported back: the worker crashed or
		// outran its lease. Running it again would exceed MaxAttempts.
		msg := "the last attempt's lease expired: its worker stopped or ran past the lease"
		if rec.LastError != "" {
			msg += "; before that: " + rec.LastError
		}
		w.record(base, rec, `failed_at = $4, result = $5, last_error = $6`, w.Now().UTC(), ResultExhausted, msg)
		return
	}
	// The handler stops a little before the lease ends, leaving time to
	// record the outcome while the job is still this worker's.
	ctx, cancel := context.WithTimeout(context.WithValue(base, ctxKey{}, rec), w.lease*9/10)
	err := w.call(ctx, rec)
	cancel()
	var perm permanentError
	var retry retryError
	switch {
	case err == nil:
		w.record(base, rec, `finished_at = $4, result = $5`, w.Now().UTC(), ResultOK)
	case base.Err() != nil:
		// Cut off by shutdown, not by its own fault: hand it back at
		// once, without spending an attempt.
		w.record(base, rec, `attempts = attempts - 1, last_error = $4`, "interrupted by shutdown: "+err.Error())
		w.log().Info("jobs: released at shutdown", "id", rec.ID, "kind", rec.Kind)
	case errors.As(err, &perm):
		w.record(base, rec, `failed_at = $4, result = $5, last_error = $6`, w.Now().UTC(), ResultPermanent, errText(err))
		w.log().Warn("jobs: failed permanently", "id", rec.ID, "kind", rec.Kind, "err", err)
	case rec.Attempts >= rec.MaxAttempts:
		w.record(base, rec, `failed_at = $4, result = $5, last_error = $6`, w.Now().UTC(), ResultExhausted, errText(err))
		w.log().Warn("jobs: failed after the last attempt", "id", rec.ID, "kind", rec.Kind, "attempts", rec.Attempts, "err", err)
	default:
		var at time.Time
		if errors.As(err, &retry) {
			at = retry.at.UTC()
		} else {
			backoff := w.Backoff
			if backoff == nil {
				backoff = Backoff
			}
			at = w.Now().UTC().Add(backoff(rec.Attempts))
		}
		w.record(base, rec, `run_at = $4, last_error = $5`, at, errText(err))
		w.log().Info("jobs: attempt failed; will retry", "id", rec.ID, "kind", rec.Kind, "attempt", rec.Attempts, "at", at, "err", err)
	}
}

// call runs the handler, turning a panic into an error so one bad job
// cannot take the process down.
func (w *worker) call(ctx context.Context, rec *Record) (err error) {
	defer func() {
		if p := recover(); p != nil {
			w.log().Error("jobs: handler panicked", "id", rec.ID, "kind", rec.Kind, "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return w.Handlers[rec.Kind](ctx, rec)
}

// record ends a claim: set is applied and the lease cleared only if the
// claim is still this worker's (same owner, same attempt). Otherwise the
// lease expired and another worker has the job now; its outcome wins.
// Arguments from $4 on are set's.
func (w *worker) record(base context.Context, rec *Record, set string, args ...any) {
	// The outcome must be stored even when shutting down.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(base), 30*time.Second)
	defer cancel()
	res, err := w.DB.Write.ExecContext(ctx, `UPDATE jobs SET lease_until = NULL, `+set+`
		WHERE id = $1 AND attempts = $2 AND lease_owner = $3 AND `+live,
		append([]any{rec.ID, rec.Attempts, w.owner}, args...)...)
	if err != nil {
		w.log().Error("jobs: record outcome", "id", rec.ID, "kind", rec.Kind, "err", err)
		return
	}
	if n, _ := res.RowsAffected(); n == 0 {
		w.log().Warn("jobs: lease lost before the job reported back; another worker has it", "id", rec.ID, "kind", rec.Kind, "attempt", rec.Attempts)
	}
}

func errText(err error) string {
	s := err.Error()
	if len(s) > 2000 {
		s = s[:2000] + "…"
	}
	return s
}

// scanRecords reads rows of recordColumns.
func scanRecords(rows *sql.Rows, now time.Time) ([]*Record, error) {
	defer rows.Close()
	var out []*Record
	for rows.Next() {
		var r Record
		var payload string
		var runAt, leaseUntil, created, finished, failed nullTime
		if err := rows.Scan(&r.ID, &r.Kind, &r.Key, &payload, &runAt, &r.Attempts, &r.MaxAttempts,
			&r.LeaseOwner, &leaseUntil, &r.LastError, &created, &finished, &failed, &r.Result); err != nil {
			return nil, err
		}
		r.Payload = json.RawMessage(payload)
		r.RunAt, r.CreatedAt = runAt.Time, created.Time
		r.LeaseUntil, r.FinishedAt, r.FailedAt = leaseUntil.ptr(), finished.ptr(), failed.ptr()
		r.State = r.state(now)
		out = append(out, &r)
	}
	return out, rows.Err()
}
