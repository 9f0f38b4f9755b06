package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"

	"github.com/kefu-desk/kefu/internal/blob"
	"github.com/kefu-desk/kefu/internal/database"
)

// BackupCmd writes a consistent copy of the database while Kefu runs.
type BackupCmd struct {
	StoreConfig `embed:""`
	To          string `help:"File to write (must not exist)." required:"" type:"path" placeholder:"FILE"`
}

// Run writes the backup: on SQLite with VACUUM INTO (a transactionally
// consistent snapshot, readers and the writer carry on), on PostgreSQL
// with pg_dump in its custom format (restore with pg_restore). Blobs up
// to blob.Threshold (mails, most documents) are rows of the database, so
// the backup holds them; larger attachments are immutable files under the
// data directory: copy that directory alongside (rsync is incremental:
// files never change).
func (c *BackupCmd) Run(ctx context.Context) error {
	if _, err := os.Stat(c.To); err == nil {
		return fmt.Errorf("backup: %s already exists", c.To)
	}
	db, err := database.Open(ctx, c.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	switch db.Dialect.Name() {
	case "sqlite":
		if _, err := db.Write.ExecContext(ctx, `VACUUM INTO $1`, c.To); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
	case "postgres":
		dump, err := exec.LookPath("pg_dump")
		if err != nil {
			return errors.New("backup: pg_dump is not installed (Debian: apt-get install postgresql-client)")
		}
		cmd := exec.CommandContext(ctx, dump, "--format=custom", "--file="+c.To, c.DB)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("backup: pg_dump: %w", err)
		}
	}
	fmt.Printf("backup written to %s; copy %s too (attachments over %d KiB)\n", c.To, c.DataDir, blob.Threshold>>10)
	return nil
}
