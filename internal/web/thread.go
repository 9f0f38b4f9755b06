package web

import (
	"regexp"
	"strings"

	"github.com/microcosm-cc/bluemonday"
)

// segment is a run of a message's text: what the writer wrote, or text
// they quoted from earlier mail.
type segment struct {
	Text   string
	Quoted bool
}

// quoteHeader matches the line mail clients put above a quoted message:
// "On Mon, 3 Nov 2025, Li Na <li@example.com> wrote:", "在 2025年11月3日，
// 李娜 写道：", Outlook's "-----Original Message-----" and its Chinese
// form "-----原始邮件-----".
var quoteHeader = regexp.MustCompile(`(?i)^\s*(on\s.{1,200}\swrote:\s*$|在.{1,200}写道[:：]\s*$|-{2,}\s*(original message|原始邮件|forwarded message|转发的邮件)\s*-{2,})`)

// foldQuotes splits text into segments so the thread can fold quoted
// mail behind a toggle. Nothing is dropped: joining the segments gives
// the text back. From a quote header on, the rest of the message is
// quoted (that is how mail clients append history); elsewhere runs of
// lines starting with ">" are.
func foldQuotes(text string) []segment {
	lines := strings.SplitAfter(text, "\n")
	var out []segment
	add := func(line string, quoted bool) {
		if n := len(out); n > 0 && out[n-1].Quoted == quoted {
			out[n-1].Text += line
			return
		}
		out = append(out, segment{Text: line, Quoted: quoted})
	}
	for i, line := range lines {
		if quoteHeader.MatchString(strings.TrimRight(line, "\r\n")) {
			add(strings.Join(lines[i:], ""), true)
			break
		}
		add(line, strings.HasPrefix(strings.TrimLeft(line, " \t"), ">"))
	}
	// A quoted run that is only blank lines is not worth a toggle.
	for i := range out {
		if out[i].Quoted && strings.TrimSpace(out[i].Text) == "" {
			out[i].Quoted = false
		}
	}
	return out
}

// mailPolicy keeps the formatting of customers' HTML mail and drops
// scripts, handlers, forms and styles that could reach outside the
// message. The result is also shown in a sandboxed frame, so even a gap
// in the policy runs no script with the console's rights.
var mailPolicy = func() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowAttrs("style").Globally()
	p.AllowStyles("color", "background-color", "font-weight", "font-style", "text-decoration", "text-align").Globally()
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	return p
}()

// sanitizeHTML makes a customer's HTML safe to show.
func sanitizeHTML(html string) string { return mailPolicy.Sanitize(html) }
