package blob

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/kefu-desk/kefu"
)

func TestDirPutOpen(t *testing.T) {
	ctx := context.Background()
	d := Dir{Root: t.TempDir()}
	sum, n, err := d.Put(ctx, strings.NewReader("退货照片"), 100)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len("退货照片")) || len(sum) != 64 {
		t.Fatalf("Put = %s, %d", sum, n)
	}
	again, _, err := d.Put(ctx, strings.NewReader("退货照片"), 100)
	if err != nil || again != sum {
		t.Fatalf("same content stored as %s (%v), want %s", again, err, sum)
	}
	f, err := d.Open(ctx, sum)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	if string(b) != "退货照片" {
		t.Fatalf("read back %q", b)
	}
	if ok, _ := d.Exists(ctx, sum); !ok {
		t.Fatal("Exists = false after Put")
	}
}

func TestDirRefusesOverLimit(t *testing.T) {
	d := Dir{Root: t.TempDir()}
	_, _, err := d.Put(context.Background(), strings.NewReader(strings.Repeat("x", 11)), 10)
	if !kefu.IsCode(err, kefu.TooLarge) {
		t.Fatalf("Put over limit: %v, want too_large", err)
	}
	if _, err := d.Open(context.Background(), "../../etc/passwd"); !kefu.IsCode(err, kefu.NotFound) {
		t.Fatalf("Open of a path: %v, want not_found", err)
	}
}
