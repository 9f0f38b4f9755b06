package main

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"testing"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/auth"
	"github.com/kefu-desk/kefu/internal/blob"
	"github.com/kefu-desk/kefu/internal/database"
)

// TestBackupHoldsTheBlobsInTheDatabase restores a SQLite backup without
// the data directory: the blobs kept in the database (mails, documents)
// come back with it, and larger attachments need the copied directory.
// (On PostgreSQL the backup is pg_dump of the whole database, blobs table
// included.)
func TestBackupHoldsTheBlobsInTheDatabase(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := StoreConfig{DB: filepath.Join(dir, "kefu.db"), DataDir: dir}
	db, err := database.Open(ctx, cfg.DB)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	app := newApp(db, cfg.DataDir, false, clock, auth.TestParams)
	small := []byte("From: wang.fang@example.cn\r\nSubject: 退货\r\n\r\n照片见附件\r\n")
	large := bytes.Repeat([]byte("开箱视频"), blob.Threshold/4)
	var sums [2]string
	for i, data := range [][]byte{small, large} {
		if sums[i], _, err = app.Tickets.Blobs.Put(ctx, bytes.NewReader(data), 1<<20); err != nil {
			t.Fatal(err)
		}
	}

	to := filepath.Join(t.TempDir(), "backup.db")
	if err := (&BackupCmd{StoreConfig: cfg, To: to}).Run(ctx); err != nil {
		t.Fatal(err)
	}
	restored, err := database.Open(ctx, to)
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close()
	read := func(store blob.Store, sum string) ([]byte, error) {
		f, err := store.Open(ctx, sum)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return io.ReadAll(f)
	}
	bare := blob.New(restored, t.TempDir(), clock)
	if got, err := read(bare, sums[0]); err != nil || !bytes.Equal(got, small) {
		t.Fatalf("small blob from the backup alone: %q, %v", got, err)
	}
	if _, err := read(bare, sums[1]); !kefu.IsCode(err, kefu.NotFound) {
		t.Fatalf("large blob from the backup alone: %v, want not_found (it is a file)", err)
	}
	withFiles := blob.New(restored, filepath.Join(cfg.DataDir, "blobs"), clock)
	if got, err := read(withFiles, sums[1]); err != nil || !bytes.Equal(got, large) {
		t.Fatalf("large blob with the data directory: %d bytes, %v", len(got), err)
	}
}
