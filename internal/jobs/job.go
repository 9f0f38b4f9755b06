// Package jobs runs work that must survive a crash: outbound mail,
// webhooks, notices, follow-ups. A job is inserted into the jobs table in
// the same transaction as the change that causes it (an outbox), so the two
// commit or roll back together, and Runners on any instance claim due jobs
// with leases and run them.
//
// Delivery is at least once: a worker that crashes, or runs past its lease,
// leaves the job to be run again elsewhere. Handlers must therefore be
// idempotent — derive external identifiers (a Message-ID, a webhook
// delivery id) from the job's ID, or check before acting.
//
// Leases (lease.go) give periodic sweeps that must run once per cluster a
// single holder.
package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/database"
)

// DefaultMaxAttempts is used when Job.MaxAttempts is zero. With Backoff,
// ten attempts span about an hour and a half.
const DefaultMaxAttempts = 10

// Job is a unit of work to enqueue.
type Job struct {
	// Kind selects the Handler; a Runner claims only kinds it handles.
	Kind string
	// Payload is encoded with encoding/json; a json.RawMessage is stored
	// as it is.
	Payload any
	// RunAt is when the job becomes due; zero means now.
	RunAt time.Time
	// MaxAttempts bounds the runs before the job is failed for good;
	// zero means DefaultMaxAttempts.
	MaxAttempts int
	// Key, when set, deduplicates: while a job of the same Kind and Key is
	// pending or running, Enqueue inserts nothing and returns its id. Once
	// that job has finished or failed, the key is free again.
	Key string
}

// State is where a job is in its life.
type State string

const (
	Pending  State = "pending"  // waiting for its run_at, or for a worker
	Running  State = "running"  // claimed by a worker whose lease has not expired
	Failed   State = "failed"   // failed for good; Retry puts it back
	Finished State = "finished" // done, or cancelled (Result says which)
)

// Results recorded when a job leaves the live states.
const (
	ResultOK        = "ok"        // the handler succeeded
	ResultCancelled = "cancelled" // Cancel was called
	ResultPermanent = "permanent" // the handler returned Permanent
	ResultExhausted = "exhausted" // MaxAttempts runs all failed
)

// Record is a job as stored: what List returns and what a Handler gets.
type Record struct {
	ID          string
	Kind        string
	Key         string
	Payload     json.RawMessage
	RunAt       time.Time
	Attempts    int // runs started so far, including the current one
	MaxAttempts int
	LeaseOwner  string // the instance that ran it last
	LeaseUntil  *time.Time
	LastError   string
	CreatedAt   time.Time
	FinishedAt  *time.Time
	FailedAt    *time.Time
	Result      string
	State       State
}

// Decode unmarshals the payload into v.
func (r *Record) Decode(v any) error {
	if err := json.Unmarshal(r.Payload, v); err != nil {
		return fmt.Errorf("jobs: %s %s: payload: %w", r.Kind, r.ID, err)
	}
	return nil
}

func (r *Record) state(now time.Time) State {
	switch {
	case r.FinishedAt != nil:
		return Finished
	case r.FailedAt != nil:
		return Failed
	case r.LeaseUntil != nil && r.LeaseUntil.After(now):
		return Running
	default:
		return Pending
	}
}

type ctxKey struct{}

// FromContext returns the job a handler is running, for code deeper in
// the call that wants its id (an idempotency key) or attempt number.
func FromContext(ctx context.Context) (*Record, bool) {
	r, ok := ctx.Value(ctxKey{}).(*Record)
	return r, ok
}

// Queue enqueues jobs and lets an administrator see, retry and cancel them.
type Queue struct {
	DB  *database.DB
	Now func() time.Time
	// Notifier wakes this process's Runners on SQLite; it must be the one
	// the Runners use. On PostgreSQL Enqueue notifies every instance
	// through NOTIFY and Notifier may be nil.
	Notifier *Notifier
}

// Enqueue inserts j using q, normally the caller's transaction, so the job
// exists exactly when the caller's change commits. It returns the new
// job's id, or with a Key that is already live, the existing job's id.
func (s *Queue) Enqueue(ctx context.Context, q database.Querier, j Job) (string, error) {
	var fs kefu.Fields
	if j.Kind == "" {
		fs.Add("kind", "is required")
	}
	if j.MaxAttempts < 0 {
		fs.Add("max_attempts", "must not be negative")
	}
	payload, err := json.Marshal(j.Payload)
	if err != nil {
		fs.Add("payload", "cannot be encoded as JSON: %v", err)
	}
	if err := fs.Err(); err != nil {
		return "", err
	}
	if j.MaxAttempts == 0 {
		j.MaxAttempts = DefaultMaxAttempts
	}
	now := s.Now().UTC()
	runAt := now
	if !j.RunAt.IsZero() {
		runAt = j.RunAt.UTC()
	}
	// A live job with the same key makes the insert a no-op; the lookup
	// then returns it. The loop covers the moment in between when that
	// job finishes, freeing the key: the next insert succeeds.
	for range 3 {
		id := kefu.NewID()
		err := q.QueryRowContext(ctx, `INSERT INTO jobs (id, kind, key, payload, run_at, max_attempts, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (kind, key) WHERE key <> '' AND finished_at IS NULL AND failed_at IS NULL DO NOTHING
			RETURNING CAST(id AS text)`,
			id, j.Kind, j.Key, string(payload), runAt, j.MaxAttempts, now).Scan(&id)
		if err == nil {
			return id, s.wake(ctx, q)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return "", fmt.Errorf("jobs: enqueue %s: %w", j.Kind, err)
		}
		err = q.QueryRowContext(ctx, `SELECT CAST(id AS text) FROM jobs
			WHERE kind = $1 AND key = $2 AND finished_at IS NULL AND failed_at IS NULL`, j.Kind, j.Key).Scan(&id)
		if err == nil {
			return id, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return "", fmt.Errorf("jobs: enqueue %s: %w", j.Kind, err)
		}
	}
	return "", fmt.Errorf("jobs: enqueue %s: key %q keeps changing hands", j.Kind, j.Key)
}

// wake tells Runners a job is due. On PostgreSQL the NOTIFY is queued in
// q's transaction and delivered to every instance at commit, never on
// rollback. On SQLite the in-process signal goes out at once, but a woken
// Runner claims through the single writer connection, which q's
// transaction holds until it ends: the claim runs after the commit and
// sees the job.
func (s *Queue) wake(ctx context.Context, q database.Querier) error {
	if s.DB.Dialect.Name() == "postgres" {
		if _, err := q.ExecContext(ctx, `SELECT pg_notify('`+channel+`', '')`); err != nil {
			return fmt.Errorf("jobs: notify: %w", err)
		}
		return nil
	}
	s.Notifier.broadcast()
	return nil
}

// Handler runs one job. It returns nil on success; any other error is
// retried with Backoff, unless wrapped by Permanent or RetryAt. The
// context carries the job (FromContext) and is cancelled when the lease
// runs out or the Runner stops.
type Handler func(ctx context.Context, r *Record) error

type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as one that retrying cannot fix (a malformed
// address, a deleted ticket): the job fails at once.
func Permanent(err error) error {
	if err == nil {
		err = errors.New("failed permanently")
	}
	return permanentError{err}
}

type retryError struct {
	at  time.Time
	err error
}

func (e retryError) Error() string { return e.err.Error() }
func (e retryError) Unwrap() error { return e.err }

// RetryAt asks for the next attempt at t instead of the Backoff schedule,
// for a remote side that said when to come back (Retry-After, SMTP 4xx
// with a hint). It still counts as an attempt.
func RetryAt(t time.Time, err error) error {
	if err == nil {
		err = errors.New("retry requested")
	}
	return retryError{t, err}
}

// Backoff is the delay before the next attempt after attempt n (1-based)
// failed: 10s·2^(n-1) capped at one hour — 10s, 20s, 40s, … 42m40s, then
// 1h — less up to 25% at random, so jobs that failed together (a mail
// server outage) do not all come back in the same second.
func Backoff(n int) time.Duration {
	d := BackoffBase(n)
	return d - time.Duration(rand.Int64N(int64(d/4)+1))
}

// BackoffBase is Backoff without the jitter.
func BackoffBase(n int) time.Duration {
	const first, limit = 10 * time.Second, time.Hour
	if n < 1 {
		n = 1
	}
	if n > 20 { // far past the cap; avoids overflowing the shift
		return limit
	}
	return min(first<<(n-1), limit)
}
