package blob

import (
	"bytes"
	"context"
	"crypto/rand"
	"testing"
)

// BenchmarkPut stores distinct 8 KiB blobs, the size of a typical mail.
func BenchmarkPut(b *testing.B) {
	d := Dir{Root: b.TempDir()}
	buf := make([]byte, 8<<10)
	b.ReportAllocs()
	for b.Loop() {
		rand.Read(buf[:32])
		if _, _, err := d.Put(context.Background(), bytes.NewReader(buf), 1<<20); err != nil {
			b.Fatal(err)
		}
	}
}
