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
	checkpointEvery, restartFrames = 50*time.Millisecond, 256 // 1 MiB
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
