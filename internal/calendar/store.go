package calendar

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/database"
)

// Record is a stored calendar: its spec and the bookkeeping around it.
type Record struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Spec      Spec      `json:"spec"`
	Version   int       `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ETagVersion is the version an ETag of the calendar names.
func (r *Record) ETagVersion() int { return r.Version }

const recordColumns = `CAST(id AS text), name, spec, version, created_at, updated_at`

func scanRecord(row interface{ Scan(...any) error }) (*Record, error) {
	var r Record
	var spec string
	if err := row.Scan(&r.ID, &r.Name, &spec, &r.Version, &r.CreatedAt, &r.UpdatedAt); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(spec), &r.Spec); err != nil {
		return nil, fmt.Errorf("calendar %s: stored spec: %w", r.ID, err)
	}
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return &r, nil
}

func getRecord(ctx context.Context, q database.Querier, id string) (*Record, error) {
	if !kefu.ValidID(id) {
		return nil, kefu.Errorf(kefu.NotFound, "no calendar %s", id)
	}
	r, err := scanRecord(q.QueryRowContext(ctx, `SELECT `+recordColumns+` FROM calendars WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kefu.Errorf(kefu.NotFound, "no calendar %s", id)
	}
	if err != nil {
		return nil, fmt.Errorf("calendar: get: %w", err)
	}
	return r, nil
}

func listRecords(ctx context.Context, q database.Querier) ([]Record, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+recordColumns+` FROM calendars ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("calendar: list: %w", err)
	}
	defer rows.Close()
	out := []Record{}
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *r)
	}
	return out, rows.Err()
}

func insertRecord(ctx context.Context, q database.Querier, r *Record) error {
	spec, err := json.Marshal(r.Spec)
	if err != nil {
		return err
	}
	_, err = q.ExecContext(ctx, `INSERT INTO calendars (id, name, spec, version, created_at, updated_at)
		VALUES ($1, $2, $3, 1, $4, $4)`, r.ID, r.Name, string(spec), r.CreatedAt)
	return err
}

// updateRecord writes r if the stored version is still r.Version-1 and
// reports whether it did.
func updateRecord(ctx context.Context, q database.Querier, r *Record) (bool, error) {
	spec, err := json.Marshal(r.Spec)
	if err != nil {
		return false, err
	}
	res, err := q.ExecContext(ctx, `UPDATE calendars SET name = $2, spec = $3, version = $4, updated_at = $5
		WHERE id = $1 AND version = $6`, r.ID, r.Name, string(spec), r.Version, r.UpdatedAt, r.Version-1)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// version returns the stored version of calendar id, 0 when there is none.
func version(ctx context.Context, q database.Querier, id string) (int, error) {
	var v int
	err := q.QueryRowContext(ctx, `SELECT version FROM calendars WHERE id = $1`, id).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return v, err
}
