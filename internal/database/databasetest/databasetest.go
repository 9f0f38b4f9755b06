// Package databasetest runs storage tests on both engines: a fresh SQLite
// file and a fresh PostgreSQL schema per test, so tests run in parallel
// and never see each other's rows.
package databasetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/kefu-desk/kefu/internal/database"
)

// PostgresURL is read from KEFU_TEST_POSTGRES_URL. Where it is unset the
// PostgreSQL half is skipped, unless KEFU_TEST_REQUIRE_POSTGRES is set (as
// .ci/run does), which makes a missing server a failure.
func PostgresURL() string { return os.Getenv("KEFU_TEST_POSTGRES_URL") }

// RequirePostgres returns PostgresURL for a test that needs PostgreSQL,
// and skips the test where it is unset (fails it under
// KEFU_TEST_REQUIRE_POSTGRES).
func RequirePostgres(tb testing.TB) string {
	tb.Helper()
	url := PostgresURL()
	if url == "" {
		if os.Getenv("KEFU_TEST_REQUIRE_POSTGRES") != "" {
			tb.Fatal("KEFU_TEST_REQUIRE_POSTGRES is set but KEFU_TEST_POSTGRES_URL is empty")
		}
		tb.Skip("PostgreSQL half skipped: set KEFU_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/test)")
	}
	return url
}

// Engines lists the engines a test should run on.
func Engines() []string { return []string{"sqlite", "postgres"} }

// Each runs fn as a subtest on every engine, each with a fresh migrated store.
func Each(t *testing.T, fn func(t *testing.T, db *database.DB)) {
	t.Helper()
	for _, engine := range Engines() {
		t.Run(engine, func(t *testing.T) {
			fn(t, Open(t, engine))
		})
	}
}

// Open returns a fresh migrated store on engine, closed and removed when
// the test ends.
func Open(tb testing.TB, engine string) *database.DB {
	tb.Helper()
	ctx := context.Background()
	var location string
	switch engine {
	case "sqlite":
		location = filepath.Join(tb.TempDir(), "kefu.db")
	case "postgres":
		location = freshSchema(tb)
	default:
		tb.Fatalf("databasetest: unknown engine %q", engine)
	}
	db, err := database.Open(ctx, location)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	return db
}

func freshSchema(tb testing.TB) string {
	base := RequirePostgres(tb)
	var b [6]byte
	rand.Read(b[:])
	schema := "kefu_test_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		tb.Fatalf("databasetest: create schema: %v", err)
	}
	tb.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer admin.Close()
		admin.Exec("DROP SCHEMA " + schema + " CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
