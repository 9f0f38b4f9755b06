package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kefu-desk/kefu"
)

// Filter selects jobs for List. Zero fields match everything.
type Filter struct {
	Kind  string
	State State
	// Limit is the page size; default 50, at most 500.
	Limit int
	// Before is the id of the last job of the previous page: List returns
	// older jobs (ids are time-ordered), newest first.
	Before string
}

// List returns jobs newest first, for an administrator to see what is
// pending, running, failed or finished.
func (s *Queue) List(ctx context.Context, f Filter) ([]*Record, error) {
	now := s.Now().UTC()
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	var fs kefu.Fields
	where := []string{"1 = 1"}
	if f.Kind != "" {
		where = append(where, "kind = "+arg(f.Kind))
	}
	switch f.State {
	case "":
	case Pending:
		where = append(where, live+" AND (lease_until IS NULL OR lease_until <= "+arg(now)+")")
	case Running:
		where = append(where, live+" AND lease_until > "+arg(now))
	case Failed:
		where = append(where, "failed_at IS NOT NULL")
	case Finished:
		where = append(where, "finished_at IS NOT NULL")
	default:
		fs.Add("state", "must be pending, running, failed or finished")
	}
	if f.Before != "" {
		if !kefu.ValidID(f.Before) {
			fs.Add("before", "is not a job id")
		} else {
			where = append(where, "id < "+arg(f.Before))
		}
	}
	if f.Limit <= 0 {
		f.Limit = 50
	}
	if f.Limit > 500 {
		fs.Add("limit", "must be at most 500")
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	rows, err := s.DB.Read.QueryContext(ctx, `SELECT `+recordColumns+` FROM jobs
		WHERE `+strings.Join(where, " AND ")+` ORDER BY id DESC LIMIT `+arg(f.Limit), args...)
	if err != nil {
		return nil, fmt.Errorf("jobs: list: %w", err)
	}
	recs, err := scanRecords(rows, now)
	if err != nil {
		return nil, fmt.Errorf("jobs: list: %w", err)
	}
	return recs, nil
}

// Get returns one job.
func (s *Queue) Get(ctx context.Context, id string) (*Record, error) {
	if !kefu.ValidID(id) {
		return nil, kefu.Errorf(kefu.NotFound, "no job %s", id)
	}
	now := s.Now().UTC()
	rows, err := s.DB.Read.QueryContext(ctx, `SELECT `+recordColumns+` FROM jobs WHERE id = $1`, id)
	if err != nil {
		return nil, fmt.Errorf("jobs: get: %w", err)
	}
	recs, err := scanRecords(rows, now)
	if err != nil {
		return nil, fmt.Errorf("jobs: get: %w", err)
	}
	if len(recs) == 0 {
		return nil, kefu.Errorf(kefu.NotFound, "no job %s", id)
	}
	return recs[0], nil
}

// Retry puts a failed or cancelled job back to pending, due now, with its
// attempts reset. It is a Conflict if the job is pending, running or
// finished successfully, or if a live job now holds its dedup key.
func (s *Queue) Retry(ctx context.Context, id string) error {
	if !kefu.ValidID(id) {
		return kefu.Errorf(kefu.NotFound, "no job %s", id)
	}
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE jobs SET failed_at = NULL, finished_at = NULL, result = '',
				attempts = 0, run_at = $2, lease_until = NULL
			WHERE id = $1 AND (failed_at IS NOT NULL OR result = $3)`, id, s.Now().UTC(), ResultCancelled)
		if s.DB.Dialect.IsUniqueViolation(err) {
			return kefu.Errorf(kefu.Conflict, "another job with the same key is pending or running")
		}
		if err != nil {
			return fmt.Errorf("jobs: retry: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return s.whyNot(ctx, tx, id, "only a failed or cancelled job can be retried")
		}
		return s.wake(ctx, tx)
	})
}

// Cancel stops a pending job from running, or dismisses a failed one: it
// becomes finished with the result "cancelled". A running job cannot be
// cancelled (its worker would not notice); wait for its attempt to end.
func (s *Queue) Cancel(ctx context.Context, id string) error {
	if !kefu.ValidID(id) {
		return kefu.Errorf(kefu.NotFound, "no job %s", id)
	}
	now := s.Now().UTC()
	res, err := s.DB.Write.ExecContext(ctx, `UPDATE jobs SET finished_at = $2, failed_at = NULL, result = $3, lease_until = NULL
		WHERE id = $1 AND finished_at IS NULL AND (failed_at IS NOT NULL OR lease_until IS NULL OR lease_until <= $2)`,
		id, now, ResultCancelled)
	if err != nil {
		return fmt.Errorf("jobs: cancel: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return s.whyNot(ctx, s.DB.Write, id, "only a pending or failed job can be cancelled")
	}
	return nil
}

// whyNot tells NotFound from Conflict after an update matched no row.
func (s *Queue) whyNot(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, id, conflict string) error {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM jobs WHERE id = $1`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return kefu.Errorf(kefu.NotFound, "no job %s", id)
	}
	if err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	return kefu.Errorf(kefu.Conflict, "%s", conflict)
}

// Purge deletes jobs that finished before t and returns how many; failed
// jobs stay until retried or cancelled. Run it from a periodic sweep
// (Leases.Every) to keep the table small.
func (s *Queue) Purge(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.DB.Write.ExecContext(ctx, `DELETE FROM jobs WHERE finished_at < $1`, before.UTC())
	if err != nil {
		return 0, fmt.Errorf("jobs: purge: %w", err)
	}
	return res.RowsAffected()
}

// nullTime scans a nullable timestamp on both engines. SQLite hands back
// text where it cannot tell a column's declared type (aggregates,
// RETURNING), so text in the driver's layouts is parsed too.
type nullTime struct {
	Time  time.Time
	Valid bool
}

var timeLayouts = []string{
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999Z07:00",
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999",
}

func (t *nullTime) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*t = nullTime{}
		return nil
	case time.Time:
		*t = nullTime{v.UTC(), true}
		return nil
	case []byte:
		return t.Scan(string(v))
	case string:
		for _, l := range timeLayouts {
			if p, err := time.Parse(l, v); err == nil {
				*t = nullTime{p.UTC(), true}
				return nil
			}
		}
		return fmt.Errorf("jobs: cannot read %q as a time", v)
	}
	return fmt.Errorf("jobs: cannot read %T as a time", v)
}

func (t nullTime) ptr() *time.Time {
	if !t.Valid {
		return nil
	}
	return &t.Time
}
