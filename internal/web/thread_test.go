package web

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFoldQuotes(t *testing.T) {
	for _, c := range []struct {
		name string
		text string
		want []segment
	}{
		{"plain", "你好\n谢谢", []segment{{"你好\n谢谢", false}}},
		{"angle quotes", "OK\n> earlier\n> more\nthanks", []segment{{"OK\n", false}, {"> earlier\n> more\n", true}, {"thanks", false}}},
		{"english header", "Sure.\n\nOn Mon, 3 Nov 2025, Li Na <li@example.com> wrote:\nhello\n> x", []segment{{"Sure.\n\n", false}, {"On Mon, 3 Nov 2025, Li Na <li@example.com> wrote:\nhello\n> x", true}}},
		{"chinese header", "好的\n在 2025年11月3日 10:02，李娜 写道：\n之前的内容", []segment{{"好的\n", false}, {"在 2025年11月3日 10:02，李娜 写道：\n之前的内容", true}}},
		{"outlook", "Fine\n-----Original Message-----\nFrom: x", []segment{{"Fine\n", false}, {"-----Original Message-----\nFrom: x", true}}},
		{"blank quote run is not folded", "a\n>\nb", []segment{{"a\n", false}, {">\n", true}, {"b", false}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := foldQuotes(c.text)
			if diff := cmp.Diff(c.want, got, cmp.AllowUnexported(segment{})); diff != "" {
				t.Fatal(diff)
			}
			var all strings.Builder
			for _, s := range got {
				all.WriteString(s.Text)
			}
			if all.String() != c.text {
				t.Fatalf("folding lost text: %q", all.String())
			}
		})
	}
}

func TestSanitizeHTMLDropsScript(t *testing.T) {
	got := sanitizeHTML(`<p onclick="x()">退货<script>alert(1)</script><img src="javascript:alert(1)"><a href="https://shop.example/">link</a></p>`)
	for _, bad := range []string{"script", "onclick", "javascript:"} {
		if strings.Contains(got, bad) {
			t.Errorf("sanitized HTML keeps %q: %s", bad, got)
		}
	}
	if !strings.Contains(got, "退货") || !strings.Contains(got, `rel="nofollow noreferrer`) {
		t.Errorf("sanitized HTML lost content: %s", got)
	}
}
