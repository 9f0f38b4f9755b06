package database

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// GroupStrings runs a query selecting (key, value) pairs for the given
// keys and groups the values by key, in the query's order. query must
// contain one %s where the IN list of placeholders goes. It loads a
// one-to-many detail (tags, say) for a whole page in one round trip.
func GroupStrings(ctx context.Context, q Querier, query string, keys []string) (map[string][]string, error) {
	out := make(map[string][]string, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	rows, err := q.QueryContext(ctx, fmt.Sprintf(query, Placeholders(1, len(keys))), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		out[k] = append(out[k], v)
	}
	return out, rows.Err()
}

// Strings runs a query selecting one text column and returns its values
// in order: the ids a sweep or a lookup works through.
func Strings(ctx context.Context, q Querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Nullable is s as a query argument, with "" as NULL.
func Nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// TimePtr is a scanned nullable time as a UTC pointer, nil for NULL.
func TimePtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	v := t.Time.UTC()
	return &v
}
