package email

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kefu-desk/kefu/internal/blob"
)

// TestSkeletonParsesLikeTheWhole checks the streaming path against the
// parser on every fixture: parsing the skeleton (attachments streamed to
// the store, placeholders in their place) must read the same as parsing
// the whole message, and the stored attachments must be the same bytes.
func TestSkeletonParsesLikeTheWhole(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.eml")
	store := blob.Dir{Root: t.TempDir()}
	ctx := context.Background()
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".eml"), func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			want, err := ParseBytes(raw)
			if err != nil {
				t.Fatal(err)
			}
			skel, err := buildSkeleton(ctx, store, bytes.NewReader(raw), 1<<30)
			if errors.Is(err, errNotMultipart) {
				t.Skip("not multipart: parsed whole")
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseBytes(skel)
			if err != nil {
				t.Fatal(err)
			}
			for i := range got.Attachments {
				a := &got.Attachments[i]
				if sum, size, ok := stubbed(a.Content); ok {
					f, err := store.Open(ctx, sum)
					if err != nil {
						t.Fatal(err)
					}
					a.Content, _ = io.ReadAll(f)
					f.Close()
					a.Size = int(size)
				}
			}
			opts := cmp.Options{cmp.AllowUnexported(Message{})}
			if d := cmp.Diff(want.Attachments, got.Attachments, opts); d != "" {
				t.Errorf("attachments differ (-whole +skeleton):\n%s", d)
			}
			want.Attachments, got.Attachments = nil, nil
			want.Problems, got.Problems = nil, nil // base64 repairs are reported only by the parser
			if d := cmp.Diff(want, got, opts); d != "" {
				t.Errorf("message differs (-whole +skeleton):\n%s", d)
			}
		})
	}
}

// FuzzSkeleton feeds the streaming MIME walker arbitrary input: it must
// not panic or hang, and what it produces must parse.
func FuzzSkeleton(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.eml")
	for _, path := range files {
		if raw, err := os.ReadFile(path); err == nil {
			f.Add(raw)
		}
	}
	store := blob.Dir{Root: f.TempDir()}
	f.Fuzz(func(t *testing.T, raw []byte) {
		skel, err := buildSkeleton(context.Background(), store, bytes.NewReader(raw), 1<<20)
		if err != nil {
			return
		}
		if _, err := ParseBytes(skel); err != nil && len(skel) > 0 {
			t.Fatalf("skeleton does not parse: %v", err)
		}
	})
}
