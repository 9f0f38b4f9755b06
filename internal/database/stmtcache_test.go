package database_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/kefu-desk/kefu/internal/database"
)

// TestStatementCache runs a query again while its rows are open, and more
// distinct queries than a connection keeps, on SQLite's cached statements.
func TestStatementCache(t *testing.T) {
	ctx := context.Background()
	db, err := database.Open(ctx, filepath.Join(t.TempDir(), "kefu.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Write.ExecContext(ctx, `CREATE TABLE t (n integer); INSERT INTO t VALUES (1), (2), (3)`); err != nil {
		t.Fatal(err)
	}
	const q = `SELECT n FROM t ORDER BY n`
	tx, err := db.Write.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	outer, err := tx.QueryContext(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	sum := 0
	for outer.Next() {
		var n int
		outer.Scan(&n)
		var inner int
		// The same text while the outer rows are open.
		if err := tx.QueryRowContext(ctx, q).Scan(&inner); err != nil || inner != 1 {
			t.Fatalf("inner query: %d, %v", inner, err)
		}
		sum += n
		if n == 1 {
			// Evict the outer statement while its rows are open.
			for i := range 300 {
				var m int
				if err := tx.QueryRowContext(ctx, fmt.Sprintf(`SELECT count(*) + %d FROM t`, i)).Scan(&m); err != nil || m != 3+i {
					t.Fatalf("query %d: %d, %v", i, m, err)
				}
			}
		}
	}
	if err := outer.Err(); err != nil || sum != 6 {
		t.Fatalf("outer rows: sum %d, %v", sum, err)
	}
	outer.Close()
	for i := range 300 {
		var n int
		if err := tx.QueryRowContext(ctx, fmt.Sprintf(`SELECT count(*) + %d FROM t`, i)).Scan(&n); err != nil || n != 3+i {
			t.Fatalf("query %d: %d, %v", i, n, err)
		}
	}
}
