package database

import (
	"context"
	"database/sql"
	"log/slog"
	"time"
)

// checkpointEvery is how often the WAL is copied back into the database
// file. SQLite's own default (every 1,000 pages, inside a commit) would be
// a few seconds apart under heavy writing; this keeps the WAL about as
// small, and a quiet store costs one cheap statement a second.
const checkpointEvery = time.Second

// checkpointer runs SQLite's WAL checkpoints on a connection of its own.
// PASSIVE checkpoints never wait for the writer or readers, so the writer
// goes on committing while one runs.
type checkpointer struct {
	db   *sql.DB
	quit chan struct{}
	done chan struct{}
}

func startCheckpointer(db *sql.DB) *checkpointer {
	c := &checkpointer{db: db, quit: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

func (c *checkpointer) run() {
	defer close(c.done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-c.quit:
			return
		case <-t.C:
			if err := c.checkpoint("PASSIVE"); err != nil {
				slog.Warn("sqlite checkpoint", "err", err)
			}
		}
	}
}

func (c *checkpointer) checkpoint(mode string) error {
	_, err := c.db.ExecContext(context.Background(), "PRAGMA wal_checkpoint("+mode+")")
	return err
}

// stop ends the checkpoints with a last, complete one, so a closed store
// is whole in its main file.
func (c *checkpointer) stop() {
	close(c.quit)
	<-c.done
	c.checkpoint("TRUNCATE")
	c.db.Close()
}
