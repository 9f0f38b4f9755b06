package database_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
)

// Deferrable writes behave like any other: a transaction reads its own
// deferred writes, they commit with it, and a deferred write that fails
// fails the transaction, leaves nothing behind and leaves the
// connection usable. (On PostgreSQL they travel with the next statement
// or the COMMIT; on SQLite they run at once.)
func TestDeferrableWrites(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		if _, err := db.Write.ExecContext(ctx, `CREATE TABLE kv (k text PRIMARY KEY, v text NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		later := database.Deferrable(ctx)

		// Read your own deferred writes; an immediate write after them
		// counts its rows.
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			for _, k := range []string{"a", "b", "c"} {
				if _, err := tx.ExecContext(later, `INSERT INTO kv (k, v) VALUES ($1, 'x')`, k); err != nil {
					return err
				}
			}
			res, err := tx.ExecContext(ctx, `UPDATE kv SET v = 'y' WHERE k <> 'c'`)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n != 2 {
				t.Errorf("UPDATE after deferred inserts: %d rows, %v; want 2", n, err)
			}
			if _, err := tx.ExecContext(later, `DELETE FROM kv WHERE k = 'c'`); err != nil {
				return err
			}
			got, err := database.Strings(ctx, tx, `SELECT k || v FROM kv ORDER BY k`)
			if diff := cmp.Diff([]string{"ay", "by"}, got); diff != "" || err != nil {
				t.Errorf("read inside the transaction: %v (-want +got):\n%s", err, diff)
			}
			_, err = tx.ExecContext(later, `INSERT INTO kv (k, v) VALUES ('d', 'z')`)
			return err // the last one travels with the COMMIT
		})
		if err != nil {
			t.Fatal(err)
		}

		// A failing deferred write (a duplicate key) fails the commit and
		// undoes the rest.
		err = db.InTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(later, `INSERT INTO kv (k, v) VALUES ('e', 'x')`); err != nil {
				return err
			}
			_, err := tx.ExecContext(later, `INSERT INTO kv (k, v) VALUES ('a', 'again')`)
			return err
		})
		if err == nil || !db.Dialect.IsUniqueViolation(err) {
			t.Fatalf("InTx with a duplicate deferred insert = %v, want a unique violation", err)
		}

		// The same connection (SQLite's only writer; PostgreSQL's pool
		// reuses it) still works, and only the first transaction stored.
		for range 3 {
			if err := db.InTx(ctx, func(tx *sql.Tx) error {
				_, err := tx.ExecContext(later, `UPDATE kv SET v = v WHERE k = 'a'`)
				return err
			}); err != nil {
				t.Fatalf("after a failed commit: %v", err)
			}
		}
		got, err := database.Strings(ctx, db.Read, `SELECT k || v FROM kv ORDER BY k`)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"ay", "by", "dz"}, got); diff != "" {
			t.Errorf("stored (-want +got):\n%s", diff)
		}
	})
}
