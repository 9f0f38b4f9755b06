package database_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
)

// Many concurrent transactions, some of which fail, panic or have their
// context cancelled: exactly the ones that returned nil are stored, each
// whole, and only their after-commit callbacks and commit-time writes
// happen. On SQLite they share commits (group commit); on PostgreSQL
// each commits alone; the outcome must be the same.
func TestConcurrentTransactionsKeepOnlyWhatSucceeded(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		if _, err := db.Write.ExecContext(ctx, `CREATE TABLE kv (k text PRIMARY KEY, v text NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Write.ExecContext(ctx, `CREATE TABLE late (k text PRIMARY KEY)`); err != nil {
			t.Fatal(err)
		}
		// Commit-time rows: one multi-row INSERT for all callers.
		var flushes int
		var mu sync.Mutex
		late := &database.CommitWriter{Flush: func(ctx context.Context, tx *sql.Tx, items []any) error {
			mu.Lock()
			flushes++
			mu.Unlock()
			for _, it := range items {
				if _, err := tx.ExecContext(ctx, `INSERT INTO late (k) VALUES ($1)`, it); err != nil {
					return err
				}
			}
			return nil
		}}

		const n = 120
		// A first transaction holds the writer until every caller has
		// started, so that on SQLite they queue behind it and share
		// commits, however quickly each would be done alone.
		holding, blocked := make(chan struct{}), make(chan error, 1)
		var starting sync.WaitGroup
		starting.Add(n)
		go func() {
			blocked <- db.InTx(ctx, func(tx *sql.Tx) error {
				close(holding)
				starting.Wait()
				time.Sleep(20 * time.Millisecond) // for the last ones to queue
				return nil
			})
		}()
		<-holding
		var committed []string
		var wg sync.WaitGroup
		want := map[string]bool{}
		for i := range n {
			key := fmt.Sprintf("k%03d", i)
			outcome := []string{"ok", "ok", "error", "ok", "panic", "ok", "cancelled", "duplicate"}[i%8]
			if outcome == "ok" {
				want[key] = true
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx := ctx
				if outcome == "cancelled" {
					c, cancel := context.WithCancel(ctx)
					cancel()
					ctx = c
				}
				defer func() {
					p := recover()
					if (p != nil) != (outcome == "panic") {
						t.Errorf("%s: panic %v", key, p)
					}
				}()
				starting.Done()
				err := db.InTx(ctx, func(tx *sql.Tx) error {
					// Two statements, so a failure after the first must undo it.
					if _, err := tx.ExecContext(ctx, `INSERT INTO kv (k, v) VALUES ($1, 'a')`, key); err != nil {
						return err
					}
					db.WriteAtCommit(tx, late, key)
					db.AfterCommit(tx, func() {
						mu.Lock()
						committed = append(committed, key)
						mu.Unlock()
					})
					switch outcome {
					case "error":
						return errors.New("refused")
					case "panic":
						panic("boom")
					case "duplicate":
						// A statement that fails inside the transaction.
						_, err := tx.ExecContext(ctx, `INSERT INTO kv (k, v) VALUES ($1, 'again')`, key)
						return err
					}
					_, err := tx.ExecContext(ctx, `UPDATE kv SET v = 'b' WHERE k = $1`, key)
					return err
				})
				if (err == nil) != (outcome == "ok") && outcome != "panic" {
					t.Errorf("%s (%s): InTx returned %v", key, outcome, err)
				}
			}()
		}
		wg.Wait()
		if err := <-blocked; err != nil {
			t.Fatal(err)
		}

		got, err := database.Strings(ctx, db.Read, `SELECT k || '=' || v FROM kv ORDER BY k`)
		if err != nil {
			t.Fatal(err)
		}
		var wantRows, wantKeys []string
		for k := range want {
			wantRows = append(wantRows, k+"=b")
			wantKeys = append(wantKeys, k)
		}
		slices.Sort(wantRows)
		slices.Sort(wantKeys)
		if diff := cmp.Diff(wantRows, got); diff != "" {
			t.Errorf("stored rows (-want +got):\n%s", diff)
		}
		lateKeys, err := database.Strings(ctx, db.Read, `SELECT k FROM late ORDER BY k`)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(wantKeys, lateKeys); diff != "" {
			t.Errorf("commit-time rows (-want +got):\n%s", diff)
		}
		slices.Sort(committed)
		if diff := cmp.Diff(wantKeys, committed); diff != "" {
			t.Errorf("after-commit callbacks (-want +got):\n%s", diff)
		}
		if db.Dialect.Name() == "sqlite" && flushes >= len(want) {
			t.Errorf("%d commit-time flushes for %d transactions: commits were not shared", flushes, len(want))
		}
	})
}

// A failing commit-time write rolls back every transaction it would have
// committed with, and each caller hears of it.
func TestCommitWriterErrorFailsTheCommit(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		if _, err := db.Write.ExecContext(ctx, `CREATE TABLE kv (k text PRIMARY KEY)`); err != nil {
			t.Fatal(err)
		}
		bad := &database.CommitWriter{Flush: func(context.Context, *sql.Tx, []any) error { return errors.New("index full") }}
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO kv (k) VALUES ('x')`); err != nil {
				return err
			}
			db.WriteAtCommit(tx, bad, 1)
			return nil
		})
		if err == nil || !strings.Contains(err.Error(), "index full") {
			t.Fatalf("InTx = %v, want the commit writer's error", err)
		}
		n, err := database.Strings(ctx, db.Read, `SELECT k FROM kv`)
		if err != nil {
			t.Fatal(err)
		}
		if len(n) != 0 {
			t.Errorf("rows %v survived a failed commit", n)
		}
	})
}
