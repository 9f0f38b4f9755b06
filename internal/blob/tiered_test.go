package blob_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/blob"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
)

func now() time.Time { return time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC) }

// tiers is a Tiered store with a way to see where each blob went.
type tiers struct {
	*blob.Tiered
	db   *database.DB
	root string
}

func newTiers(t *testing.T, db *database.DB) *tiers {
	root := t.TempDir()
	return &tiers{Tiered: blob.New(db, root, now), db: db, root: root}
}

// rows counts the blobs kept in the database.
func (s *tiers) rows(t *testing.T) int {
	t.Helper()
	var n int
	if err := s.db.Read.QueryRow(`SELECT COUNT(*) FROM blobs`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// files lists the blobs kept as files (not the temporary ones).
func (s *tiers) files(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(s.root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "tmp" {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			out = append(out, d.Name())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// oldFile stores a small blob as a file, as Kefu did before the
// database tier, and returns its content.
func (s *tiers) oldFile(t *testing.T) []byte {
	t.Helper()
	old := []byte("stored as a file by an older Kefu")
	if _, _, err := (blob.Dir{Root: s.root}).Put(context.Background(), bytes.NewReader(old), 100); err != nil {
		t.Fatal(err)
	}
	return old
}

func (s *tiers) put(t *testing.T, content []byte, limit int64) string {
	t.Helper()
	sum, n, err := s.Put(context.Background(), bytes.NewReader(content), limit)
	if err != nil {
		t.Fatalf("Put of %d bytes: %v", len(content), err)
	}
	if n != int64(len(content)) || sum != sumOf(content) {
		t.Fatalf("Put of %d bytes = %s, %d; want %s", len(content), sum, n, sumOf(content))
	}
	return sum
}

func (s *tiers) read(t *testing.T, sum string) []byte {
	t.Helper()
	f, err := s.Open(context.Background(), sum)
	if err != nil {
		t.Fatalf("Open %s: %v", sum, err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	// Attachments are served with range requests, which seek.
	if _, err := f.Seek(1, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(f)
	if len(b) > 0 && !bytes.Equal(rest, b[1:]) {
		t.Fatal("reading after a seek gives other bytes")
	}
	return b
}

func sumOf(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// content returns n bytes that differ with seed.
func content(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) ^ seed
	}
	return b
}

func TestTieredRoundTrip(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		cases := []struct {
			name   string
			size   int
			inFile bool
		}{
			{"empty", 0, false},
			{"a photo's caption", len("退货照片"), false},
			{"a typical mail", 11 << 10, false},
			{"exactly the threshold", blob.Threshold, false},
			{"one byte over", blob.Threshold + 1, true},
			{"a phone photo", 3 << 20, true},
		}
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				s := newTiers(t, db)
				rows := s.rows(t)
				data := content(c.size, byte(i))
				sum := s.put(t, data, 50<<20)
				if got := s.read(t, sum); !bytes.Equal(got, data) {
					t.Fatalf("read back %d bytes, want %d as stored", len(got), len(data))
				}
				if ok, err := s.Exists(context.Background(), sum); !ok || err != nil {
					t.Fatalf("Exists = %v, %v after Put", ok, err)
				}
				inDB, files := s.rows(t)-rows, s.files(t)
				if c.inFile && (inDB != 0 || len(files) != 1 || files[0] != sum) {
					t.Fatalf("%d bytes: %d new rows, files %v; want it as a file only", c.size, inDB, files)
				}
				if !c.inFile && (inDB != 1 || len(files) != 0) {
					t.Fatalf("%d bytes: %d new rows, files %v; want it in the database only", c.size, inDB, files)
				}
			})
		}
	})
}

func TestTieredStoresContentOnce(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		s := newTiers(t, db)
		small, large := []byte("同一张退货照片"), content(blob.Threshold+100, 1)
		for range 3 {
			s.put(t, small, 1<<20)
			s.put(t, large, 1<<20)
		}
		if n, files := s.rows(t), s.files(t); n != 1 || len(files) != 1 {
			t.Fatalf("three Puts each of two contents: %d rows, files %v; want one of each", n, files)
		}
	})
}

func TestTieredFindsFilesStoredBeforeTheDatabaseTier(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		s := newTiers(t, db)
		old := s.oldFile(t)
		sum := s.put(t, old, 100)
		if n := s.rows(t); n != 0 {
			t.Fatalf("content already stored as a file went into the database too (%d rows)", n)
		}
		if got := s.read(t, sum); !bytes.Equal(got, old) {
			t.Fatalf("read back %q", got)
		}
	})
}

func TestTieredRefusesOverLimit(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		cases := []struct {
			name        string
			size, limit int
		}{
			{"small blob, small limit", 11, 10},
			{"limit at the threshold", blob.Threshold + 1, blob.Threshold},
			{"large blob", 2 << 20, 1 << 20},
			{"one byte over a large limit", blob.Threshold + 101, blob.Threshold + 100},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				s := newTiers(t, db)
				rows := s.rows(t)
				_, _, err := s.Put(context.Background(), bytes.NewReader(content(c.size, 2)), int64(c.limit))
				if !kefu.IsCode(err, kefu.TooLarge) {
					t.Fatalf("Put of %d bytes with limit %d: %v, want too_large", c.size, c.limit, err)
				}
				if n, files := s.rows(t)-rows, s.files(t); n != 0 || len(files) != 0 {
					t.Fatalf("refused Put left %d rows and files %v", n, files)
				}
				// Exactly the limit is allowed.
				s.put(t, content(c.limit, 2), int64(c.limit))
			})
		}
	})
}

func TestTieredOpenMissing(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		s := newTiers(t, db)
		s.put(t, []byte("something else"), 100)
		for _, sum := range []string{sumOf([]byte("never stored")), "../../etc/passwd", ""} {
			if _, err := s.Open(context.Background(), sum); !kefu.IsCode(err, kefu.NotFound) {
				t.Errorf("Open(%q): %v, want not_found", sum, err)
			}
			if ok, err := s.Exists(context.Background(), sum); ok || err != nil {
				t.Errorf("Exists(%q) = %v, %v", sum, ok, err)
			}
		}
	})
}

func TestTieredConcurrentPutsOfTheSameContent(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		s := newTiers(t, db)
		small, large := content(40<<10, 3), content(blob.Threshold*2, 4)
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for i := range 16 {
			data := small
			if i%2 == 1 {
				data = large
			}
			wg.Go(func() {
				sum, _, err := s.Put(context.Background(), bytes.NewReader(data), 1<<20)
				if err == nil && sum != sumOf(data) {
					err = kefu.Errorf(kefu.Internal, "sum %s", sum)
				}
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if n, files := s.rows(t), s.files(t); n != 1 || len(files) != 1 {
			t.Fatalf("16 concurrent Puts of two contents: %d rows, files %v", n, files)
		}
		for _, data := range [][]byte{small, large} {
			if got := s.read(t, sumOf(data)); !bytes.Equal(got, data) {
				t.Fatal("content differs after concurrent Puts")
			}
		}
	})
}

// TestTieredStreamsLargeBlobs checks that Put reads no more than the
// threshold and a byte before handing a large blob on to the file tier.
func TestTieredStreamsLargeBlobs(t *testing.T) {
	t.Parallel()
	db := databasetest.Open(t, "sqlite")
	root := t.TempDir()
	src := &counting{r: bytes.NewReader(content(8<<20, 5))}
	files := &watch{Dir: blob.Dir{Root: root}, src: src}
	s := &blob.Tiered{DB: db, Files: files, Now: now}
	if _, n, err := s.Put(context.Background(), src, 50<<20); err != nil || n != 8<<20 {
		t.Fatalf("Put = %d, %v", n, err)
	}
	if files.readBefore != blob.Threshold+1 {
		t.Fatalf("%d bytes read before the file tier took over, want %d", files.readBefore, blob.Threshold+1)
	}
}

type counting struct {
	r io.Reader
	n int64
}

func (c *counting) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

type watch struct {
	blob.Dir
	src        *counting
	readBefore int64
}

func (w *watch) Put(ctx context.Context, r io.Reader, limit int64) (string, int64, error) {
	w.readBefore = w.src.n
	return w.Dir.Put(ctx, r, limit)
}

// TestTieredSpoolLeavesSmallBlobsToTheCaller checks that a held blob is
// stored only by the caller's transaction, and goes if it rolls back.
func TestTieredSpoolLeavesSmallBlobsToTheCaller(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s := newTiers(t, db)
		data := []byte("原始邮件")
		sum, n, held, err := s.Spool(ctx, bytes.NewReader(data), 100)
		if err != nil || held == nil || sum != sumOf(data) || n != int64(len(data)) || !bytes.Equal(held.Bytes(), data) {
			t.Fatalf("Spool = %s, %d, %v, %v", sum, n, held, err)
		}
		if ok, _ := s.Exists(ctx, sum); ok {
			t.Fatal("a held blob is stored before its caller stores it")
		}
		refused := errors.New("the caller's change was refused")
		err = db.InTx(ctx, func(tx *sql.Tx) error {
			if err := held.Store(ctx, tx); err != nil {
				return err
			}
			return refused
		})
		if !errors.Is(err, refused) {
			t.Fatal(err)
		}
		if ok, _ := s.Exists(ctx, sum); ok {
			t.Fatal("a held blob stayed stored after its transaction rolled back")
		}
		for range 2 {
			if err := db.InTx(ctx, func(tx *sql.Tx) error { return held.Store(ctx, tx) }); err != nil {
				t.Fatal(err)
			}
		}
		if got := s.read(t, sum); !bytes.Equal(got, data) || s.rows(t) != 1 {
			t.Fatalf("read back %q from %d rows", got, s.rows(t))
		}

		// Nothing is left to the caller of a large blob, or of content
		// stored as a file before.
		old := s.oldFile(t)
		for _, data := range [][]byte{content(blob.Threshold+1, 6), old} {
			_, _, held, err := s.Spool(ctx, bytes.NewReader(data), 1<<20)
			if err != nil || held != nil {
				t.Fatalf("Spool of %d bytes: held %v, %v", len(data), held != nil, err)
			}
		}
		if _, _, _, err := s.Spool(ctx, bytes.NewReader(data), 3); !kefu.IsCode(err, kefu.TooLarge) {
			t.Fatalf("Spool over the limit: %v", err)
		}
	})
}
