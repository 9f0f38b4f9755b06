package database_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
)

// columns lists table → column names of the migrated schema, so the two
// engines' migrations can be compared.
func columns(t *testing.T, db *database.DB) map[string][]string {
	t.Helper()
	// search_fts is SQLite's FTS5 index over search_docs (with its shadow
	// tables); PostgreSQL indexes the same column with GIN instead.
	q := `SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p
	      WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> 'goose_db_version'
	        AND m.name NOT LIKE 'search_fts%'
	      ORDER BY m.name, p.name`
	if db.Dialect.Name() == "postgres" {
		// Generated columns are left out, as pragma_table_info leaves them
		// out on SQLite: derived data each engine keeps its own way.
		q = `SELECT table_name, column_name FROM information_schema.columns
		     WHERE table_schema = current_schema() AND table_name <> 'goose_db_version' AND is_generated = 'NEVER'
		     ORDER BY table_name, column_name`
	}
	rows, err := db.Read.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var table, col string
		if err := rows.Scan(&table, &col); err != nil {
			t.Fatal(err)
		}
		out[table] = append(out[table], col)
	}
	return out
}

func TestMigrationsMatchAcrossEngines(t *testing.T) {
	lite := databasetest.Open(t, "sqlite")
	pg := databasetest.Open(t, "postgres")
	if diff := cmp.Diff(columns(t, lite), columns(t, pg)); diff != "" {
		t.Fatalf("sqlite and postgres schemas differ (-sqlite +postgres):\n%s", diff)
	}
	ctx := context.Background()
	for _, db := range []*database.DB{lite, pg} {
		cur, latest, err := db.SchemaVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if cur != latest || cur == 0 {
			t.Errorf("%s: schema version %d, latest %d", db.Dialect.Name(), cur, latest)
		}
	}
}

func TestAuditLogIsAppendOnly(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		_, err := db.Write.ExecContext(ctx, `INSERT INTO audit_log (id, at, actor_kind, action, entity, entity_id)
			VALUES ($1, $2, 'system', 'test', 'ticket', 'x')`, "0190f0f0-0000-7000-8000-000000000001", "2026-01-01 00:00:00+00:00")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Write.ExecContext(ctx, `UPDATE audit_log SET action = 'forged'`); err == nil {
			t.Error("UPDATE on audit_log succeeded; want refusal")
		}
		if _, err := db.Write.ExecContext(ctx, `DELETE FROM audit_log`); err == nil {
			t.Error("DELETE on audit_log succeeded; want refusal")
		}
	})
}

func TestCounterUpsertIsSequential(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		var got []int64
		for range 3 {
			var v int64
			err := db.Write.QueryRowContext(ctx, `INSERT INTO counters (name, value) VALUES ('t', 10001)
				ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value`).Scan(&v)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, v)
		}
		if diff := cmp.Diff([]int64{10001, 10002, 10003}, got); diff != "" {
			t.Fatal(diff)
		}
	})
}

func TestAfterCommit(t *testing.T) {
	db := databasetest.Open(t, "sqlite")
	ctx := context.Background()
	var ran []string
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		db.AfterCommit(tx, func() { ran = append(ran, "committed") })
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		db.AfterCommit(tx, func() { ran = append(ran, "rolled back") })
		return errors.New("no")
	})
	if err == nil {
		t.Fatal("want the error back")
	}
	if !cmp.Equal(ran, []string{"committed"}) {
		t.Fatalf("ran %v", ran)
	}
}
