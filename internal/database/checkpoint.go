package database

import (
	"context"
	"database/sql"
	"log/slog"
	"time"
)

// checkpointEvery is how often the WAL is copied back into the database
// file. A quiet store pays one cheap statement each time; a busy one
// keeps a short WAL, which restartWAL can then rewind cheaply.
var checkpointEvery = 250 * time.Millisecond

// restartFrames is the WAL length (in frames of one 4 KiB page each, so
// some 64 MiB) past which the writer restarts the WAL from its beginning.
//
// SQLite rewinds the WAL by itself only when a write transaction begins
// with every frame already copied back, and under a steady stream of
// group commits that never happens: a checkpoint beside the writer always
// trails the frames committed while it ran. The WAL then grows for as
// long as the writes go on (hundreds of MB a minute at full speed), and
// appending to a growing file costs the filesystem a block allocation per
// page: measured here, writing a frame took 16-25 µs at the end of the
// file against 3-5 µs over one already written. So when the background
// checkpoint finds the WAL this long it asks the writer to restart it
// between two groups (group.restartWAL), when only the frames committed
// during that checkpoint are left to copy. Writes wait for the restart
// (10-20 ms here, mostly the fsync of what it copied), which at full
// speed happens about once a second.
var restartFrames = 16384

// restartWait bounds how long a checkpoint waits for readers on older
// snapshots: a restart of the WAL holds every write up meanwhile
// (group.restartWAL), and the last checkpoint holds up Close.
const restartWait = 50 * time.Millisecond

// walLimit is the size SQLite truncates a longer WAL back to when it
// restarts (journal_size_limit). It is well above restartFrames, so the
// file is rewritten in place, not shortened and grown again.
const walLimit = 128 << 20

// checkpointer runs SQLite's WAL checkpoints on a connection of its own.
// PASSIVE checkpoints never wait for the writer or readers, so the writer
// goes on committing while one runs.
type checkpointer struct {
	db      *sql.DB
	restart func() // asks the writer to restart the WAL
	quit    chan struct{}
	done    chan struct{}
}

func startCheckpointer(db *sql.DB, restart func()) *checkpointer {
	c := &checkpointer{db: db, restart: restart, quit: make(chan struct{}), done: make(chan struct{})}
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
			frames, err := c.checkpoint("PASSIVE")
			if err != nil {
				slog.Warn("sqlite checkpoint", "err", err)
			} else if frames >= restartFrames {
				c.restart()
			}
		}
	}
}

// checkpoint returns how many frames the WAL holds.
func (c *checkpointer) checkpoint(mode string) (frames int, err error) {
	var busy, copied int
	err = c.db.QueryRowContext(context.Background(), "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &frames, &copied)
	return frames, err
}

// stop ends the checkpoints with a last, complete one, so a closed store
// is whole in its main file.
func (c *checkpointer) stop() {
	close(c.quit)
	<-c.done
	c.checkpoint("TRUNCATE")
	c.db.Close()
}
