// Package email is Kefu's email channel. Parse turns raw RFC 5322 messages
// into what Kefu needs from them: decoded headers, a text and an HTML body,
// attachments, and whether the mail is an auto-reply or a bounce (the
// parser opens no database or connection). Around it: Mailboxes (settings
// and the sender deny list), Inbound (every mail stored exactly once and
// threaded into tickets, fed by the IMAP Poller, the SMTP Receiver and the
// API) and Outbound (replies, acknowledgements and staff notices sent
// through the job queue). docs/email.md describes the rules.
package email

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/textproto"
	"strings"
	"time"

	"github.com/jhillyerd/enmime/v2"

	"github.com/kefu-desk/kefu"
)

// Message is a parsed email. The JSON form is what `kefu mail parse`
// prints; the fields tagged "-" are for Go callers (the ticket store).
type Message struct {
	Subject     string       `json:"subject"`
	From        Address      `json:"from"`
	To          []Address    `json:"to"`
	Cc          []Address    `json:"cc"`
	Date        *time.Time   `json:"date"` // UTC; nil when missing or unreadable
	MessageID   string       `json:"message_id"`
	InReplyTo   string       `json:"in_reply_to"`
	References  []string     `json:"references"`
	Text        string       `json:"text"`
	HTML        string       `json:"html"` // raw, unsanitised: never render it as is
	Attachments []Attachment `json:"attachments"`
	AutoReply   bool         `json:"auto_reply"`
	Bounce      *Bounce      `json:"bounce"`
	Problems    []string     `json:"problems"`

	ReplyTo []Address `json:"-"`
	// Headers holds the top-level header fields as received (values not
	// decoded), for callers that need more than the fields above.
	Headers textproto.MIMEHeader `json:"-"`
}

// Attachment is a non-body part. Content holds the transfer-decoded bytes
// exactly as the sender attached them (no charset conversion).
type Attachment struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int    `json:"size"`
	// Inline is true for parts shown inside the HTML body (cid: images).
	Inline    bool   `json:"inline"`
	ContentID string `json:"content_id"`
	Content   []byte `json:"-"`
}

// maxProblems bounds the problem list so garbage input cannot make the
// result huge; the last entry says how many were left out.
const maxProblems = 50

// Parse reads a whole message from r and parses it. The only errors are an
// unreadable reader and empty input: anything else that is a message at
// all yields a *Message, with what went wrong listed in Problems.
func Parse(r io.Reader) (*Message, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("email: read message: %w", err)
	}
	return ParseBytes(b)
}

// ParseBytes parses a message held in memory. It does not retain b.
func ParseBytes(b []byte) (*Message, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, kefu.Errorf(kefu.Invalid, "empty message")
	}
	p := &parser{}
	return p.parse(b), nil
}

type parser struct {
	problems []string
	seen     map[string]bool
	dropped  int
	dec      *headerDecoder

	texts, htmls []string
	atts         []*Attachment
	dsn          []byte // the message/delivery-status part, if any
	original     []byte // headers of the bounced message, if any
}

func (p *parser) problem(s string) {
	if p.seen == nil {
		p.seen = map[string]bool{}
	}
	if p.seen[s] {
		return
	}
	p.seen[s] = true
	if len(p.problems) >= maxProblems {
		p.dropped++
		return
	}
	p.problems = append(p.problems, s)
}

var mimeParser = enmime.NewParser(
	// We decode transfer encodings and charsets ourselves: enmime's
	// charset detection overrides declared charsets and cannot be told to
	// prefer GB18030 or Big5, and a base64 error makes it drop the part.
	enmime.RawContent(true),
	enmime.SkipMalformedParts(true),
	enmime.MultipartWOBoundaryAsSinglePart(true),
	enmime.MaxStoredPartErrors(maxProblems),
)

func (p *parser) parse(b []byte) *Message {
	b = trimEnvelope(b)
	root, err := mimeParser.ReadParts(bytes.NewReader(b))
	if err != nil {
		p.problem(fmt.Sprintf("MIME structure unreadable (%v); message kept as plain text", err))
		root = plainPart(b)
	}
	p.dec = &headerDecoder{hint: messageCharset(root), problem: p.problem}
	p.walk(root, nil, true)
	_ = root.DepthMatchAll(func(part *enmime.Part) bool {
		for _, e := range part.Errors {
			p.problem(fmt.Sprintf("mime: %s: %s", strings.ToLower(e.Name), e.Detail))
		}
		return false
	})

	h := root.Header
	m := &Message{
		Subject:    p.dec.decodeHeader(h.Get("Subject")),
		To:         p.dec.addressList("to", strings.Join(h.Values("To"), ", ")),
		Cc:         p.dec.addressList("cc", strings.Join(h.Values("Cc"), ", ")),
		ReplyTo:    p.dec.addressList("reply-to", h.Get("Reply-To")),
		MessageID:  firstID(h.Get("Message-Id")),
		InReplyTo:  firstID(h.Get("In-Reply-To")),
		References: ids(h.Get("References")),
		Headers:    h,
	}
	if from := p.dec.addressList("from", h.Get("From")); len(from) > 0 {
		m.From = from[0]
	}
	if raw := h.Get("Date"); raw == "" {
		p.problem("no Date header")
	} else if d, ok := parseDate(raw); ok {
		m.Date = &d
	} else {
		p.problem(fmt.Sprintf("unreadable Date %q", unfold(raw)))
	}

	m.HTML = strings.Join(p.htmls, "\n")
	m.Text = strings.Join(p.texts, "\n\n")
	if m.Text == "" && m.HTML != "" {
		m.Text = htmlToText(m.HTML)
	}
	m.Attachments = make([]Attachment, 0, len(p.atts))
	for _, a := range p.atts {
		if a.ContentID != "" && !a.Inline && strings.Contains(strings.ToLower(m.HTML), "cid:"+strings.ToLower(a.ContentID)) {
			a.Inline = true
		}
		m.Attachments = append(m.Attachments, *a)
	}

	m.Bounce = detectBounce(m, p.dsn, p.original)
	m.AutoReply = m.Bounce == nil && isAutoReply(m)

	if p.dropped > 0 {
		p.problems = append(p.problems, fmt.Sprintf("%d more problems not listed", p.dropped))
	}
	m.Problems = p.problems
	if m.Problems == nil {
		m.Problems = []string{}
	}
	return m
}

// trimEnvelope drops what comes before the header: the "From " line of an
// mbox file, and blank lines some tools write first.
func trimEnvelope(b []byte) []byte {
	b = bytes.TrimLeft(b, " \t\r\n")
	if bytes.HasPrefix(b, []byte("From ")) {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return b
}

// plainPart is the last resort when the MIME structure cannot be read:
// the header as far as it parses, and everything after it as text.
func plainPart(b []byte) *enmime.Part {
	part := enmime.NewPart("text/plain")
	part.Content = b
	br := bufio.NewReader(bytes.NewReader(b))
	if h, err := enmime.ReadHeader(br, discard{}); err == nil && len(h) > 0 {
		part.Header = h
		part.Content, _ = io.ReadAll(br)
	}
	part.Charset = splitParams(part.Header.Get("Content-Type"))["charset"]
	part.Header.Del("Content-Transfer-Encoding")
	return part
}

// messageCharset returns the first legacy charset the message declares
// for its text, which is the best guess for header bytes declaring none.
func messageCharset(root *enmime.Part) *charset {
	var found *charset
	consider := func(label string) {
		if cs, ok := lookupCharset(label); ok && found == nil && cs.enc != nil {
			found = &cs
		}
	}
	consider(root.Charset)
	_ = root.DepthMatchAll(func(part *enmime.Part) bool {
		if strings.HasPrefix(part.ContentType, "text/") || part.ContentType == "" {
			consider(part.Charset)
		}
		return false
	})
	for _, k := range []string{"Subject", "From", "To"} {
		for _, m := range encodedWord.FindAllStringSubmatch(root.Header.Get(k), -1) {
			consider(m[1])
		}
	}
	return found
}

type discard struct{}

func (discard) AddError(string, string, ...any)   {}
func (discard) AddWarning(string, string, ...any) {}

// alternatives tracks which renditions of a multipart/alternative have been
// taken as the body, so the others are kept as attachments, not shown twice.
type alternatives struct{ text, html bool }

func (p *parser) walk(part *enmime.Part, alt *alternatives, root bool) {
	if part.FirstChild != nil || strings.HasPrefix(part.ContentType, "multipart/") && part.Content == nil {
		if part.ContentType == "multipart/alternative" {
			alt = &alternatives{}
		}
		for c := part.FirstChild; c != nil; c = c.NextSibling {
			p.walk(c, alt, false)
		}
		return
	}
	p.leaf(part, alt, root)
}

func (p *parser) leaf(part *enmime.Part, alt *alternatives, root bool) {
	ct := strings.ToLower(part.ContentType)
	if ct == "" {
		ct = "text/plain" // RFC 2045 §5.2
	}
	if strings.HasPrefix(ct, "multipart/") {
		// A multipart without a boundary cannot be split; its content is
		// still the message, so show it as text rather than hide it.
		p.problem(fmt.Sprintf("part %s: %s without boundary; content shown as text", part.PartID, ct))
		ct = "text/plain"
	}
	content, problems := decodeTransfer(part.Content, part.Header.Get("Content-Transfer-Encoding"))
	part.Content = nil // let the raw copy go as soon as possible
	for _, pr := range problems {
		p.problem(fmt.Sprintf("part %s: %s", part.PartID, pr))
	}
	disposition := strings.ToLower(part.Disposition)
	name := p.filename(part)

	isText, isHTML := ct == "text/plain", ct == "text/html"
	body := (isText || isHTML) && disposition != "attachment" && (name == "" || root)
	if body && alt != nil {
		if isText && alt.text || isHTML && alt.html {
			body = false
		}
		alt.text = alt.text || isText && body
		alt.html = alt.html || isHTML && body
	}
	if body {
		label := part.Charset
		if isHTML && label == "" {
			label = htmlCharset(content)
		}
		s, problems := decodeText(content, label)
		for _, pr := range problems {
			p.problem(fmt.Sprintf("part %s: %s", part.PartID, pr))
		}
		s = strings.NewReplacer("\r\n", "\n", "\x00", "").Replace(s)
		if isHTML {
			p.htmls = append(p.htmls, s)
		} else {
			p.texts = append(p.texts, strings.TrimRight(s, "\n"))
		}
		return
	}

	switch ct {
	case "message/delivery-status", "message/global-delivery-status":
		if p.dsn == nil {
			p.dsn = content
		}
	case "message/rfc822", "text/rfc822-headers", "message/rfc822-headers", "message/global", "message/global-headers":
		if p.original == nil {
			p.original = content
		}
	}
	if name == "" {
		name = p.defaultName(ct, content, part.PartID)
	}
	p.atts = append(p.atts, &Attachment{
		Filename:    name,
		ContentType: ct,
		Size:        len(content),
		Inline:      part.ContentID != "" && disposition == "inline",
		ContentID:   strings.TrimSpace(part.ContentID),
		Content:     content,
	})
}

// filename finds a part's decoded file name: Content-Disposition filename,
// then Content-Type name, in RFC 2231, RFC 2047 or raw 8-bit form. Any
// directory a sender's client left in the name is dropped.
func (p *parser) filename(part *enmime.Part) string {
	var name string
	for _, c := range []struct{ header, param string }{
		{"Content-Disposition", "filename"},
		{"Content-Type", "name"},
		{"Content-Disposition", "name"},
	} {
		if v := part.Header.Get(c.header); v != "" {
			if name = p.dec.param(v, c.param); name != "" {
				break
			}
		}
	}
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, name))
}

// defaultName names an unnamed attachment so that it can be saved and
// offered for download: a forwarded message by its subject, others by
// their part number.
func (p *parser) defaultName(ct string, content []byte, partID string) string {
	switch ct {
	case "message/rfc822", "message/global":
		h, err := enmime.ReadHeader(bufio.NewReader(bytes.NewReader(content)), discard{})
		subject := ""
		if err == nil {
			inner := &headerDecoder{hint: p.dec.hint, problem: func(string) {}}
			subject = inner.decodeHeader(h.Get("Subject"))
		}
		if subject == "" {
			subject = "message"
		}
		return strings.NewReplacer("/", "_", `\`, "_").Replace(subject) + ".eml"
	case "message/delivery-status", "message/global-delivery-status":
		return "delivery-status.txt"
	case "text/rfc822-headers", "message/rfc822-headers", "message/global-headers":
		return "original-headers.txt"
	}
	ext := ".bin"
	switch {
	case strings.HasPrefix(ct, "text/plain"):
		ext = ".txt"
	case ct == "text/html":
		ext = ".html"
	case strings.HasPrefix(ct, "image/"):
		ext = "." + strings.TrimPrefix(strings.TrimPrefix(ct, "image/"), "x-")
	case ct == "text/calendar":
		ext = ".ics"
	case ct == "application/pdf":
		ext = ".pdf"
	}
	return "part-" + partID + ext
}

// firstID returns the first message id in a header, without angle
// brackets; a bare id (no brackets) is accepted as it is.
func firstID(raw string) string {
	if all := ids(raw); len(all) > 0 {
		return all[0]
	}
	return ""
}

// ids returns every message id in a header, without angle brackets. Text
// outside brackets (comments, phrases some old clients add) is ignored.
func ids(raw string) []string {
	out := []string{}
	s := unfold(raw)
	if !strings.Contains(s, "<") {
		for _, f := range strings.Fields(s) {
			if strings.Contains(f, "@") {
				out = append(out, strings.Trim(f, ",;"))
			}
		}
		return out
	}
	for {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			if id := strings.TrimSpace(s[i+1:]); id != "" {
				out = append(out, id)
			}
			return out
		}
		if id := strings.TrimSpace(s[i+1 : i+j]); id != "" {
			out = append(out, id)
		}
		s = s[i+j+1:]
	}
}
