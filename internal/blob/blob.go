// Package blob stores attachment contents by their SHA-256, so the same
// photo sent twice is kept once and a stored file can never be changed
// under a ticket that references it.
package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/kefu-desk/kefu"
)

// Store is what tickets need of a blob store; Tiered (the database for
// small blobs, Dir for the rest) is what Kefu runs with, and an
// S3-compatible store can implement the same three methods in Dir's place.
type Store interface {
	// Put streams r into the store, refusing more than limit bytes, and
	// returns the content's hex SHA-256 and size.
	Put(ctx context.Context, r io.Reader, limit int64) (sum string, size int64, err error)
	Open(ctx context.Context, sum string) (io.ReadSeekCloser, error)
	Exists(ctx context.Context, sum string) (bool, error)
}

// Dir keeps blobs as files under a directory, fanned out by the first two
// bytes of the hash so no directory grows huge.
type Dir struct{ Root string }

// Put writes to a temporary file while hashing, then renames it into
// place: a crash never leaves a partial blob under a real name.
func (d Dir) Put(ctx context.Context, r io.Reader, limit int64) (string, int64, error) {
	if err := os.MkdirAll(filepath.Join(d.Root, "tmp"), 0o750); err != nil {
		return "", 0, fmt.Errorf("blob: %w", err)
	}
	f, err := os.CreateTemp(filepath.Join(d.Root, "tmp"), "put-*")
	if err != nil {
		return "", 0, fmt.Errorf("blob: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(r, limit+1))
	if err != nil {
		return "", 0, fmt.Errorf("blob: write: %w", err)
	}
	if n > limit {
		return "", 0, tooLarge(limit)
	}
	if err := f.Sync(); err != nil {
		return "", 0, fmt.Errorf("blob: sync: %w", err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	dst := d.path(sum)
	if _, err := os.Stat(dst); err == nil {
		return sum, n, nil // already stored; identical by construction
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return "", 0, fmt.Errorf("blob: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", 0, fmt.Errorf("blob: %w", err)
	}
	if err := os.Rename(f.Name(), dst); err != nil {
		return "", 0, fmt.Errorf("blob: %w", err)
	}
	return sum, n, nil
}

// Open returns the blob's content.
func (d Dir) Open(_ context.Context, sum string) (io.ReadSeekCloser, error) {
	if !valid(sum) {
		return nil, notFound(sum)
	}
	f, err := os.Open(d.path(sum))
	if errors.Is(err, os.ErrNotExist) {
		return nil, notFound(sum)
	}
	return f, err
}

// Exists reports whether the blob is stored.
func (d Dir) Exists(_ context.Context, sum string) (bool, error) {
	if !valid(sum) {
		return false, nil
	}
	_, err := os.Stat(d.path(sum))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

func (d Dir) path(sum string) string {
	return filepath.Join(d.Root, sum[:2], sum[2:4], sum)
}

func tooLarge(limit int64) error {
	return kefu.Errorf(kefu.TooLarge, "attachment is larger than the limit of %d bytes", limit)
}

func notFound(sum string) error {
	return kefu.Errorf(kefu.NotFound, "no blob %q", sum)
}

func valid(sum string) bool {
	if len(sum) != 64 {
		return false
	}
	_, err := hex.DecodeString(sum)
	return err == nil
}
