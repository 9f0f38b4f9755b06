package database_test

import (
	"context"
	"testing"
	"time"

	"github.com/kefu-desk/kefu/internal/database/databasetest"
)

// TestMigrationLockIsPerStore: instances of one store migrate one at a
// time, and a store in another schema of the same database does not wait
// for them.
func TestMigrationLockIsPerStore(t *testing.T) {
	ctx := context.Background()
	a := databasetest.Open(t, "postgres")
	b := databasetest.Open(t, "postgres")
	id, err := a.MigrationLock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Another instance of store a is migrating: it holds a's lock.
	holder, err := a.Write.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	if _, err := holder.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, id); err != nil {
		t.Fatal(err)
	}

	other, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := b.Migrate(other); err != nil {
		t.Fatalf("store b waited for store a's migration: %v", err)
	}
	short, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer cancel()
	if _, err := a.Migrate(short); err == nil {
		t.Fatal("a second instance of store a migrated while the first held the lock")
	}
	if _, err := holder.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, id); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Migrate(ctx); err != nil {
		t.Fatalf("after the first instance let go: %v", err)
	}
}
