package search

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTokens(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"申请退货退款", "申请 请退 退货 货退 退款 款"},
		{"连衣裙尺码偏小，申请换货", "连衣 衣裙 裙尺 尺码 码偏 偏小 小 申请 请换 换货 货"},
		{"退", "退"},
		{"iPhone 15 屏幕碎了", "iphone 15 屏幕 幕碎 碎了 了"},
		{"iPhone屏幕", "iphone 屏幕 幕"},
		{"ＡＢＣ１２３ ｉＰｈｏｎｅ", "abc123 iphone"},
		{"KF-10234", "kf 10234"},
		{"wang.fang@example.cn", "wang fang example cn"},
		{"+86 138-0013-8000", "86 138 0013 8000"},
		{"Café crème", "café crème"},
		{"Cafe\u0301", "café"}, // combining accent composed by NFKC
		{"ｶﾀｶﾅ", "カタ タカ カナ ナ"}, // halfwidth katakana widened
		{"ラーメン", "ラー ーメ メン ン"},
		{"한국어 OK", "한국 국어 어 ok"},
		{"①号", "1 号"},
		{"  ,.!  ", ""},
	} {
		if got := Tokens(c.in); got != c.want {
			t.Errorf("Tokens(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestTokensBounded(t *testing.T) {
	long := make([]byte, 0, 300_000)
	for len(long) < cap(long)-10 {
		long = append(long, "退货 refund "...)
	}
	if got := Tokens(string(long)); len(got) > maxTokenBytes {
		t.Fatalf("tokens of %d bytes, want at most %d", len(got), maxTokenBytes)
	}
}

func TestParseQuery(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []Term
	}{
		{"退货", []Term{{Tokens: []string{"退货"}}}},
		{"尺码偏小", []Term{{Tokens: []string{"尺码", "码偏", "偏小"}}}},
		{"退", []Term{{Tokens: []string{"退"}, Prefix: true}}},
		{"iPhone 屏幕", []Term{{Tokens: []string{"iphone"}}, {Tokens: []string{"屏幕"}}}},
		{"iph*", []Term{{Tokens: []string{"iph"}, Prefix: true}}},
		{"ＲＥＦＵＮＤ", []Term{{Tokens: []string{"refund"}}}},
		{"KF-10234", []Term{{Tokens: []string{"kf"}}, {Tokens: []string{"10234"}}}},
		{"退 款式", []Term{{Tokens: []string{"退"}, Prefix: true}, {Tokens: []string{"款式"}}}},
		{"!!!", nil},
	} {
		if diff := cmp.Diff(c.want, ParseQuery(c.in)); diff != "" {
			t.Errorf("ParseQuery(%q) (-want +got):\n%s", c.in, diff)
		}
	}
	many := ""
	for range 40 {
		many += "word "
	}
	if n := len(ParseQuery(many)); n != maxTerms {
		t.Errorf("%d terms, want at most %d", n, maxTerms)
	}
}

func TestSnippet(t *testing.T) {
	text := "您好，收到的连衣裙偏小，想换大一号。\n\n吊牌还在，没有穿过，申请退货退款。"
	for _, c := range []struct {
		q     string
		width int
		want  []Fragment
	}{
		{"退货", 80, []Fragment{{Text: "您好，收到的连衣裙偏小，想换大一号。 吊牌还在，没有穿过，申请"}, {Text: "退货", Match: true}, {Text: "退款。"}}},
		{"退货", 12, []Fragment{{Text: "…没有穿过，申请"}, {Text: "退货", Match: true}, {Text: "退款。"}}},
		{"连衣裙", 80, []Fragment{{Text: "您好，收到的"}, {Text: "连衣裙", Match: true}, {Text: "偏小，想换大一号。 吊牌还在，没有穿过，申请退货退款。"}}},
		{"退", 80, []Fragment{{Text: "您好，收到的连衣裙偏小，想换大一号。 吊牌还在，没有穿过，申请"}, {Text: "退", Match: true}, {Text: "货"}, {Text: "退", Match: true}, {Text: "款。"}}},
		{"nothing", 6, []Fragment{{Text: "您好，收到的…"}}},
	} {
		got := snippet(text, ParseQuery(c.q), c.width)
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("snippet(%q, %d) (-want +got):\n%s", c.q, c.width, diff)
		}
	}
	got := snippet("Screen cracked on my IPHONE 15", ParseQuery("iphone"), 80)
	want := []Fragment{{Text: "Screen cracked on my "}, {Text: "IPHONE", Match: true}, {Text: " 15"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("case-insensitive highlight (-want +got):\n%s", diff)
	}
}
