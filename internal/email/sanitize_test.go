package email_test

import (
	"os"
	"strings"
	"testing"

	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/email"
	"github.com/kefu-desk/kefu/internal/ticket"
)

func TestSanitize(t *testing.T) {
	in := `<style>p{color:red}</style><script>alert(1)</script><p onclick="x()">您好 <b>bold</b>` +
		`<img src="cid:photo1@example.cn" alt="photo"><img src="https://tracker.example/pixel.gif" alt="t">` +
		`<a href="javascript:alert(1)">bad</a><a href="https://shop.example.cn/order/1">order</a></p><form><input></form>`
	got := email.Sanitize(in)
	for _, bad := range []string{"<script", "alert(1)", "<style", "onclick", "tracker.example", "javascript:", "<form", "<input"} {
		if strings.Contains(got, bad) {
			t.Errorf("sanitised HTML keeps %q: %s", bad, got)
		}
	}
	for _, good := range []string{"您好", "<b>bold</b>", `src="cid:photo1@example.cn"`, `href="https://shop.example.cn/order/1"`, "noreferrer"} {
		if !strings.Contains(got, good) {
			t.Errorf("sanitised HTML lost %q: %s", good, got)
		}
	}
}

func TestRewriteCID(t *testing.T) {
	html := `<p><img src="cid:Photo1@example.cn" alt="a"><img src="cid:unknown@x"></p>`
	atts := []ticket.Attachment{{ID: "att-1", ContentID: "photo1@example.cn", Inline: true}}
	got := email.RewriteCID(html, atts, func(id string) string { return "/api/v1/attachments/" + id })
	want := `<p><img src="/api/v1/attachments/att-1" alt="a"><img src="cid:unknown@x"></p>`
	if got != want {
		t.Errorf("RewriteCID:\n got %s\nwant %s", got, want)
	}
}

func TestSplitQuoted(t *testing.T) {
	for _, tc := range []struct{ name, text, body string }{
		{"english", "Yes, please.\n\nOn Tue, 3 Mar 2026 at 10:15, Shop <s@shop.cn> wrote:\n> Do you want a refund?\n", "Yes, please."},
		{"chinese", "好的，谢谢。\n\n在 2026年3月3日 10:15，小店客服 <s@shop.cn> 写道：\n> 请问需要退款吗？\n", "好的，谢谢。"},
		{"outlook zh", "收到\n\n-----原始邮件-----\n发件人: 小店客服\n", "收到"},
		{"trailing quote", "ok\n> earlier\n> more\n", "ok"},
		{"none", "Just text\nwith lines", "Just text\nwith lines"},
		{"all quoted", "> only a quote\n", "> only a quote\n"},
	} {
		body, quoted := email.SplitQuoted(tc.text)
		if body != tc.body {
			t.Errorf("%s: body %q, want %q", tc.name, body, tc.body)
		}
		if strings.TrimSpace(body+quoted) == "" || !strings.Contains(tc.text, strings.TrimSpace(quoted)) {
			t.Errorf("%s: quoted %q is not the rest of the text", tc.name, quoted)
		}
	}
}

// An HTML mail with a cid: image keeps the image as an inline attachment
// with its Content-ID, and the sanitised HTML still refers to it.
func TestInlineImageThroughInbound(t *testing.T) {
	h := newHarness(t, databasetest.Open(t, "sqlite"))
	raw, err := os.ReadFile("testdata/inline-cid.eml")
	if err != nil {
		t.Fatal(err)
	}
	rec := h.receive(t, string(raw), "")
	ms := h.messages(t, rec.TicketID)
	if len(ms) != 1 || len(ms[0].Attachments) != 1 {
		t.Fatalf("messages %+v", ms)
	}
	m, a := ms[0], ms[0].Attachments[0]
	if !a.Inline || a.ContentID != "photo1@example.cn" || !strings.Contains(m.HTML, "cid:photo1@example.cn") {
		t.Fatalf("inline image: %+v in %s", a, m.HTML)
	}
	shown := email.RewriteCID(m.HTML, m.Attachments, func(id string) string { return "/api/v1/attachments/" + id })
	if !strings.Contains(shown, `src="/api/v1/attachments/`+a.ID+`"`) {
		t.Errorf("shown HTML %s", shown)
	}
}
