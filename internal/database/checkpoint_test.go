package database

import (
	"context"
	"crypto/rand"
	"database/sql"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Under a steady stream of writes, with readers coming and going, the WAL
// is rewound and so stays short: the file is rewritten in place rather
// than grown for as long as the writes go on.
func TestWALStaysShortUnderSteadyWrites(t *testing.T) {
	every, frames := checkpointEvery, restartFrames
	// Checkpoints come often enough that the WAL a fast disk fills
	// between two stays far below the bound checked at the end.
	checkpointEvery, restartFrames = 10*time.Millisecond, 256 // 1 MiB
	t.Cleanup(func() { checkpointEvery, restartFrames = every, frames })

	path := filepath.Join(t.TempDir(), "kefu.db")
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if _, err := db.Write.ExecContext(ctx, `CREATE TABLE blobs (id integer PRIMARY KEY, b blob NOT NULL)`); err != nil {
		t.Fatal(err)
	}

	const total = 48 << 20 // written in all: far more than the WAL may hold
	const size = 8 << 10
	var written atomic.Int64
	var walMax atomic.Int64
	done := make(chan struct{})
	var readers sync.WaitGroup
	readers.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			var n int
			if err := db.Read.QueryRowContext(ctx, `SELECT count(*) FROM blobs`).Scan(&n); err != nil {
				t.Error(err)
				return
			}
			if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > walMax.Load() {
				walMax.Store(fi.Size())
			}
		}
	})
	var writers sync.WaitGroup
	for range 4 {
		writers.Go(func() {
			b := make([]byte, size)
			for written.Add(size) <= total {
				rand.Read(b)
				if err := db.InTx(ctx, func(tx *sql.Tx) error {
					_, err := tx.ExecContext(ctx, `INSERT INTO blobs (b) VALUES ($1)`, b)
					return err
				}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	writers.Wait()
	close(done)
	readers.Wait()
	// A checkpoint interval of these writes fills a few MiB at most; had
	// the WAL never been rewound it would hold all 48.
	if m := walMax.Load(); m > 16<<20 {
		t.Errorf("the WAL grew to %d MiB while %d MiB were written", m>>20, total>>20)
	}
}

// A reader on an older snapshot holds a restart of the WAL up, and every
// write waits for the restart: it must give up soon, not after the
// connection's busy timeout (10 s).
func TestWALRestartDoesNotWaitLongForReaders(t *testing.T) {
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "kefu.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	write := func(v int) error {
		return db.InTx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO kv (v) VALUES ($1)`, v)
			return err
		})
	}
	if _, err := db.Write.ExecContext(ctx, `CREATE TABLE kv (v integer NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for v := range 3 {
		if err := write(v); err != nil {
			t.Fatal(err)
		}
	}
	// Rows left open keep the reader's snapshot.
	rows, err := db.Read.QueryContext(ctx, `SELECT v FROM kv`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if !rows.Next() {
		t.Fatal("no rows")
	}
	if err := write(3); err != nil { // the reader is now behind the WAL
		t.Fatal(err)
	}
	db.group.wantRestart()
	done := make(chan error, 1)
	go func() { done <- write(4) }() // restarts the WAL after its commit
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a write still waits after 5 s for a restart of the WAL that a reader holds up")
	}
	var n int
	if err := db.Read.QueryRowContext(ctx, `SELECT count(*) FROM kv`).Scan(&n); err != nil || n != 5 {
		t.Fatalf("count = %d, %v; want 5 rows stored", n, err)
	}
}
