package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/database"
)

// Threshold is the largest blob kept in the database; larger ones are
// files. Below it a row is cheaper than a file: it commits with the other
// writes of its transaction (on SQLite, of its group of transactions)
// where a file costs a create, an fsync and a rename of its own, and
// SQLite's measurements find small blobs read faster from the database
// too (up to about 100 KB with 4 KiB pages, and not much slower up to a
// few hundred). 256 KiB holds a typical mail whole, with its text, HTML
// and a few small images, and most documents and screenshots; phone
// photos and videos stay files. Put holds at most this much in memory per
// call, and a commit carries at most 64 pages of it per blob.
const Threshold = 256 << 10

// Tiered keeps blobs of up to Threshold bytes in the database (table
// blobs) and larger ones in Files. A blob's size decides its tier, so the
// same content always lands in the same one; blobs stored as files
// before this tier existed are found there and not stored again.
type Tiered struct {
	DB    *database.DB
	Files Store
	Now   func() time.Time
}

// New returns the store Kefu runs with: small blobs in db, larger ones as
// files under dir.
func New(db *database.DB, dir string, now func() time.Time) *Tiered {
	return &Tiered{DB: db, Files: Dir{Root: dir}, Now: now}
}

// Put reads at most Threshold+1 bytes into memory. Content that ends
// within Threshold is stored in the database; anything longer streams
// into Files, what was read first and then the rest of r, so a large
// attachment is never held whole.
func (t *Tiered) Put(ctx context.Context, r io.Reader, limit int64) (string, int64, error) {
	sum, n, held, err := t.Spool(ctx, r, limit)
	if err != nil || held == nil {
		return sum, n, err
	}
	if err := t.DB.InTx(ctx, func(tx *sql.Tx) error { return held.Store(ctx, tx) }); err != nil {
		return "", 0, err
	}
	return sum, n, nil
}

// Spool is Put, except that a blob for the database is returned held
// instead of stored, for the caller to store in the transaction that
// writes what refers to it: the blob and its reference then commit
// together, in one transaction instead of two. held is nil when nothing
// is left to store (a large blob, or content stored as a file before);
// content already in the database is held, and storing it again does
// nothing.
func (t *Tiered) Spool(ctx context.Context, r io.Reader, limit int64) (sum string, size int64, held *Held, err error) {
	buf := heads.Get().(*[]byte)
	defer heads.Put(buf)
	read, err := io.ReadFull(r, (*buf)[:min(limit, Threshold)+1])
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return "", 0, nil, fmt.Errorf("blob: read: %w", err)
	}
	head, n := (*buf)[:read], int64(read)
	if n > limit {
		return "", 0, nil, tooLarge(limit)
	}
	if n > Threshold {
		sum, n, err := t.Files.Put(ctx, io.MultiReader(bytes.NewReader(head), r), limit)
		return sum, n, nil, err
	}
	sum = hash(head)
	if ok, err := t.Files.Exists(ctx, sum); err != nil || ok {
		return sum, n, nil, err
	}
	return sum, n, &Held{t: t, sum: sum, data: bytes.Clone(head)}, nil
}

// heads are the buffers Spool reads the start of a blob into: a large
// blob's start is done with once it is in a file, and a small one is
// copied out at its size, so reading leaves no garbage behind.
var heads = sync.Pool{New: func() any {
	b := make([]byte, Threshold+1)
	return &b
}}

// Spool stores r in s like Put, except that where s can (Tiered) a small
// blob is returned held, to be stored by the caller in the transaction
// that writes what refers to it; held is nil when the blob is stored
// already.
func Spool(ctx context.Context, s Store, r io.Reader, limit int64) (sum string, size int64, held *Held, err error) {
	if t, ok := s.(*Tiered); ok {
		return t.Spool(ctx, r, limit)
	}
	sum, size, err = s.Put(ctx, r, limit)
	return sum, size, nil, err
}

// Held is a blob Spool read and left for its caller to store.
type Held struct {
	t    *Tiered
	sum  string
	data []byte
}

// Bytes is the blob's content, not to be changed.
func (h *Held) Bytes() []byte { return h.data }

// Store writes the blob in tx; storing content that is already stored,
// or a nil Held (nothing was left to store), does nothing.
func (h *Held) Store(ctx context.Context, tx *sql.Tx) error {
	if h == nil {
		return nil
	}
	// Content addressing makes a second copy identical to the first, so
	// whoever writes it first wins and the others have nothing to do.
	// Nothing is read from the answer, so on PostgreSQL the row can
	// travel with the transaction's next statement.
	_, err := tx.ExecContext(database.Deferrable(ctx), `INSERT INTO blobs (sha256, size, data, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (sha256) DO NOTHING`, h.sum, len(h.data), h.data, h.t.Now())
	if err != nil {
		return fmt.Errorf("blob: insert: %w", err)
	}
	return nil
}

// Open returns the blob's content from whichever tier holds it. Files are
// tried first: a miss there is one failed open, where a miss in the
// database is a query (on PostgreSQL, a round trip).
func (t *Tiered) Open(ctx context.Context, sum string) (io.ReadSeekCloser, error) {
	if !valid(sum) {
		return nil, notFound(sum)
	}
	f, err := t.Files.Open(ctx, sum)
	if !kefu.IsCode(err, kefu.NotFound) {
		return f, err
	}
	var data []byte
	err = t.DB.Read.QueryRowContext(ctx, `SELECT data FROM blobs WHERE sha256 = $1`, sum).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(sum)
	}
	if err != nil {
		return nil, fmt.Errorf("blob: read: %w", err)
	}
	return inMemory{bytes.NewReader(data)}, nil
}

// Exists reports whether either tier holds the blob.
func (t *Tiered) Exists(ctx context.Context, sum string) (bool, error) {
	if ok, err := t.Files.Exists(ctx, sum); err != nil || ok || !valid(sum) {
		return ok, err
	}
	var one int
	err := t.DB.Read.QueryRowContext(ctx, `SELECT 1 FROM blobs WHERE sha256 = $1`, sum).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

func hash(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

// inMemory is a blob read whole from the database.
type inMemory struct{ *bytes.Reader }

func (inMemory) Close() error { return nil }
