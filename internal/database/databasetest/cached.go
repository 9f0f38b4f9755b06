package databasetest

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kefu-desk/kefu/internal/database"
)

// Cached opens a large store for benchmarks, kept between runs because it
// takes minutes to build: a SQLite file under os.TempDir()/kefu-bench, or
// a schema of the test PostgreSQL database, named after name and the
// schema digest (database.SchemaDigest), so a migration change builds a
// new store and removes the old one. build fills a freshly migrated store
// and must return at once when it is complete already; a build that fails
// (a store left half built by an interrupted run) is retried once on an
// empty store.
func Cached(b testing.TB, engine, name string, build func(*database.DB) error) *database.DB {
	b.Helper()
	ctx := context.Background()
	digest := database.SchemaDigest(engine)
	var location string
	var reset func() // removes a cache that is stale or half built
	switch engine {
	case "sqlite":
		dir := filepath.Join(os.TempDir(), "kefu-bench")
		if err := os.MkdirAll(dir, 0o750); err != nil {
			b.Fatal(err)
		}
		old, _ := filepath.Glob(filepath.Join(dir, name+"-*.db*"))
		location = filepath.Join(dir, name+"-"+digest+".db")
		for _, f := range old {
			if !strings.HasPrefix(f, location) {
				os.Remove(f)
			}
		}
		reset = func() {
			for _, suffix := range []string{"", "-wal", "-shm"} {
				os.Remove(location + suffix)
			}
		}
	case "postgres":
		base := PostgresURL()
		if base == "" {
			b.Skip("set KEFU_TEST_POSTGRES_URL")
		}
		admin, err := sql.Open("pgx", base)
		if err != nil {
			b.Fatal(err)
		}
		defer admin.Close()
		prefix := "kefu_bench_" + name + "_"
		schema := prefix + digest
		var stale []string
		rows, err := admin.QueryContext(ctx, `SELECT nspname FROM pg_namespace WHERE nspname LIKE $1 AND nspname <> $2`,
			strings.ReplaceAll(prefix, "_", `\_`)+"%", schema)
		if err != nil {
			b.Fatal(err)
		}
		for rows.Next() {
			var s string
			rows.Scan(&s)
			stale = append(stale, s)
		}
		rows.Close()
		for _, s := range stale {
			admin.ExecContext(ctx, `DROP SCHEMA `+s+` CASCADE`)
		}
		if _, err := admin.ExecContext(ctx, `CREATE SCHEMA IF NOT EXISTS `+schema); err != nil {
			b.Fatal(err)
		}
		u, _ := url.Parse(base)
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		location = u.String()
		reset = func() {
			admin, err := sql.Open("pgx", base)
			if err != nil {
				return
			}
			defer admin.Close()
			admin.ExecContext(ctx, `DROP SCHEMA `+schema+` CASCADE`)
			admin.ExecContext(ctx, `CREATE SCHEMA `+schema)
		}
	default:
		b.Fatalf("databasetest: unknown engine %q", engine)
	}
	for try := 0; ; try++ {
		db, err := database.Open(ctx, location)
		if err != nil {
			b.Fatal(err)
		}
		if _, err = db.Migrate(ctx); err == nil {
			err = build(db)
		}
		if err == nil {
			b.Cleanup(func() { db.Close() })
			return db
		}
		db.Close()
		if try > 0 {
			b.Fatal(err)
		}
		b.Logf("rebuilding the %s bench store %s: %v", engine, name, err)
		reset()
	}
}
