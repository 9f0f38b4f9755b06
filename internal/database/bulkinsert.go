package database

import (
	"context"
	"fmt"
	"strings"
)

// bulkParams bounds the arguments of one statement, under SQLite's limit
// of 32,766 bound parameters (PostgreSQL allows 65,535).
const bulkParams = 30000

// bulkRows is the most rows one statement carries. Every full chunk is
// the same statement text, so its prepared statement is reused from the
// statement cache instead of being parsed again.
const bulkRows = 500

// BulkInsert collects rows for multi-row INSERTs, for bulk writes
// (imports, generated stores) that would otherwise make one round trip
// per row.
type BulkInsert struct {
	// anonymous binds with ? rather than $N: modernc's SQLite looks each
	// numbered parameter's name up in a list, which makes binding a
	// statement of n parameters cost n², a third of an import's time.
	anonymous bool
	into      string
	suffix    string
	cols      int
	args      []any
}

// NewBulkInsert starts rows for table and columns written as in an
// INSERT: "orders (id, number, status)", with cols the number of columns,
// for a store of dialect d.
func NewBulkInsert(d Dialect, into string, cols int) *BulkInsert {
	return &BulkInsert{anonymous: d.Name() == "sqlite", into: into, cols: cols}
}

// OnConflict appends a clause to every statement, such as
// "ON CONFLICT (order_id, at) DO NOTHING".
func (b *BulkInsert) OnConflict(clause string) *BulkInsert {
	b.suffix = " " + clause
	return b
}

// Add appends one row; it must have as many values as there are
// columns.
func (b *BulkInsert) Add(vals ...any) {
	if len(vals) != b.cols {
		panic(fmt.Sprintf("database: bulk insert into %s: %d values for %d columns", b.into, len(vals), b.cols))
	}
	if b.args == nil {
		b.args = make([]any, 0, b.cols*bulkRows)
	}
	b.args = append(b.args, vals...)
}

// Len is the number of rows waiting.
func (b *BulkInsert) Len() int { return len(b.args) / b.cols }

// Exec inserts the rows waiting, in as few statements as the limits
// allow, and empties b.
func (b *BulkInsert) Exec(ctx context.Context, q Querier) error {
	per := max(1, min(bulkRows, bulkParams/b.cols))
	for len(b.args) > 0 {
		n := min(per, b.Len())
		var sb strings.Builder
		sb.WriteString("INSERT INTO ")
		sb.WriteString(b.into)
		sb.WriteString(" VALUES ")
		for i := range n {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString("(")
			if b.anonymous {
				sb.WriteString(strings.Repeat("?, ", b.cols-1) + "?")
			} else {
				sb.WriteString(Placeholders(i*b.cols+1, b.cols))
			}
			sb.WriteString(")")
		}
		sb.WriteString(b.suffix)
		if _, err := q.ExecContext(ctx, sb.String(), b.args[:n*b.cols]...); err != nil {
			return fmt.Errorf("insert into %s: %w", strings.Fields(b.into)[0], err)
		}
		b.args = b.args[n*b.cols:]
	}
	b.args = nil
	return nil
}

// ExecBulk runs each one's Exec in order (parents before children).
func ExecBulk(ctx context.Context, q Querier, bs ...*BulkInsert) error {
	for _, b := range bs {
		if err := b.Exec(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// inChunk bounds the values of one IN list, under both engines' limits
// on bound parameters with room for the query's own.
const inChunk = 500

// InChunks calls fn with values in slices of at most 500, as query
// arguments with their placeholders ("$1, $2, …") for an IN list: lookups
// for a whole batch in a few round trips.
func InChunks(values []string, fn func(args []any, placeholders string) error) error {
	for start := 0; start < len(values); start += inChunk {
		chunk := values[start:min(start+inChunk, len(values))]
		args := make([]any, len(chunk))
		for i, v := range chunk {
			args[i] = v
		}
		if err := fn(args, Placeholders(1, len(chunk))); err != nil {
			return err
		}
	}
	return nil
}
