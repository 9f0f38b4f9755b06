package email

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/kefu-desk/kefu/internal/ticket"
	"github.com/microcosm-cc/bluemonday"
)

// policy is bluemonday's UGC policy, which already drops scripts, styles,
// event handlers and forms, plus: cid: images (inline parts) allowed,
// remote images blanked (they track the reader and leak the agent's IP
// address), and links opened in a new tab without a referrer.
var policy = sync.OnceValue(func() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowURLSchemes("mailto", "http", "https", "cid")
	p.RewriteSrc(func(u *url.URL) {
		if u.Scheme != "cid" {
			*u = url.URL{}
		}
	})
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	return p
})

// Sanitize makes inbound HTML safe to show: what it returns is stored as
// the message's body_html. Show it in a sandboxed frame all the same.
func Sanitize(html string) string {
	if strings.TrimSpace(html) == "" {
		return ""
	}
	return strings.TrimSpace(policy().Sanitize(html))
}

var cidSrc = regexp.MustCompile(`(?i)(\ssrc=")cid:([^"]*)"`)

// RewriteCID points the cid: images of a sanitised body at the message's
// inline attachments, for display: url gives an attachment's address
// (e.g. "/api/v1/attachments/" + id). Unknown content ids are left as
// they are and show as broken images.
func RewriteCID(html string, atts []ticket.Attachment, url func(attachmentID string) string) string {
	if !strings.Contains(html, "cid:") {
		return html
	}
	byCID := make(map[string]string, len(atts))
	for _, a := range atts {
		if a.ContentID != "" {
			byCID[strings.ToLower(a.ContentID)] = a.ID
		}
	}
	return cidSrc.ReplaceAllStringFunc(html, func(m string) string {
		sub := cidSrc.FindStringSubmatch(m)
		cid, err := urlUnescape(sub[2])
		if err != nil {
			cid = sub[2]
		}
		id, ok := byCID[strings.ToLower(strings.Trim(cid, "<>"))]
		if !ok {
			return m
		}
		return sub[1] + url(id) + `"`
	})
}

func urlUnescape(s string) (string, error) { return url.PathUnescape(s) }

// quoteStarts are lines that begin the quoted history of a reply in the
// clients Chinese and English customers use.
var quoteStarts = regexp.MustCompile(`(?m)^(On .{4,200} wrote:|.{0,200}(写道|寫道)[:：]|-{2,}\s*(Original Message|原始邮件|原始郵件)\s*-{2,}|From: .+|发件人[:：].+|寄件者[:：].+|_{10,})\s*$`)

// SplitQuoted splits a message text into what the sender wrote and the
// quoted history below it, so the console can fold the history. Nothing
// is removed from the stored text; quoted is "" when there is none.
func SplitQuoted(text string) (body, quoted string) {
	cut := len(text)
	if loc := quoteStarts.FindStringIndex(text); loc != nil {
		cut = loc[0]
	}
	// A run of "> " lines at the end is history too.
	lines := strings.SplitAfter(text[:cut], "\n")
	i := len(lines)
	for i > 0 && (strings.HasPrefix(lines[i-1], ">") || strings.TrimSpace(lines[i-1]) == "") {
		i--
	}
	if slices.ContainsFunc(lines[i:], func(l string) bool { return strings.HasPrefix(l, ">") }) {
		cut = len(strings.Join(lines[:i], ""))
	}
	if strings.TrimSpace(text[:cut]) == "" {
		return text, "" // all quote: show it all
	}
	return strings.TrimRight(text[:cut], "\r\n\t "), text[cut:]
}
