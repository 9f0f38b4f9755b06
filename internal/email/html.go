package email

import (
	"regexp"
	"strings"

	"github.com/inbucket/html2text"
)

var metaCharset = regexp.MustCompile(`(?i)<meta[^>]+charset\s*=\s*["']?\s*([a-z0-9_:.\-]+)`)

// htmlCharset finds the charset an HTML part declares in a <meta> tag, for
// parts whose Content-Type does not say.
func htmlCharset(b []byte) string {
	head := b
	if len(head) > 4096 {
		head = head[:4096]
	}
	if m := metaCharset.FindSubmatch(head); m != nil {
		return string(m[1])
	}
	return ""
}

// cjkGap matches a space html2text put between two adjacent text nodes
// when both sides are CJK: Chinese does not separate words with spaces, so
// "<b>订单</b><span>已发货</span>" must read 订单已发货, not 订单 已发货.
var cjkGap = regexp.MustCompile(`([\p{Han}\p{Hiragana}\p{Katakana}\x{3000}-\x{303F}\x{FF00}-\x{FFEF}]) ([\p{Han}\p{Hiragana}\p{Katakana}\x{3000}-\x{303F}\x{FF00}-\x{FFEF}])`)

// htmlToText renders an HTML-only body as readable text for agents,
// previews and search.
func htmlToText(html string) string {
	text, err := html2text.FromString(html, html2text.Options{TextOnly: true})
	if err != nil {
		return ""
	}
	// Twice, because matches cannot overlap: 一 二 三 needs two passes.
	for range 2 {
		text = cjkGap.ReplaceAllString(text, "$1$2")
	}
	return strings.ReplaceAll(text, "\u00a0", " ")
}
