package email

import (
	"bufio"
	"bytes"
	"net/mail"
	"regexp"
	"strings"

	"github.com/jhillyerd/enmime/v2"
)

// Bounce says that a message Kefu sent could not be delivered.
type Bounce struct {
	Recipient string `json:"recipient"` // the address that failed
	// Status is an RFC 3463 code: 5.x.x permanent failure, 4.x.x delayed
	// (still being retried). Non-standard bounces that give only an SMTP
	// reply code get its class with zeros (550 → 5.0.0).
	Status string `json:"status"`
	Reason string `json:"reason"` // the remote server's words, one line
	// BouncedMessageID is the Message-ID of the message that bounced
	// (without angle brackets), when the bounce quotes it; threading uses
	// it to attach the bounce to its ticket.
	BouncedMessageID string `json:"original_message_id"`
}

var (
	enhancedStatus = regexp.MustCompile(`\b([245])\.(\d{1,3})\.(\d{1,3})\b`)
	smtpCode       = regexp.MustCompile(`(?m)(?:^|[^\w.])([45][0-5]\d)(?:[\s\-]|$)`)
	emailAddr      = regexp.MustCompile(`[A-Za-z0-9._%+\-=/!#$&'*?^{|}~]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+`)
	blankLine      = regexp.MustCompile(`\n[ \t]*\n`)
	messageIDLine  = regexp.MustCompile(`(?im)^\s*Message-ID:\s*<([^>\s]+)>`)

	// bounceSubject matches the subjects of non-standard bounces.
	bounceSubject = regexp.MustCompile(`(?i)undeliver|returned mail|returned to sender|` +
		`delivery (status notification|failure|failed|has failed|problem|notification)|` +
		`mail delivery (failed|failure|system|subsystem)|failure notice|failed delivery|` +
		`could not be delivered|non[- ]?remis|unzustellbar|nicht zustellbar|` +
		`delivery delayed|message delayed|warning: could not send|mail system error|` +
		`退信|系统退信|系統退信|投递失败|投遞失敗|发送失败|發送失敗|无法投递|無法投遞|未送达|退回`)

	daemonLocal = regexp.MustCompile(`(?i)^(mailer-daemon|mailer_daemon|mailerdaemon|mail-daemon|postmaster|` +
		`mail\.?delivery|bounces?|bounce-.*|nobody|noreply-bounce|mdaemon)$`)
	daemonName = regexp.MustCompile(`(?i)mail delivery (system|subsystem)|mailer[- ]daemon|postmaster|系统退信|系統退信`)
	delayWords = regexp.MustCompile(`(?i)delayed|will (be )?retr|still trying|temporar|延迟|延遲|重试|重試`)
)

// detectBounce decides whether m is a delivery failure. A report
// (multipart/report with message/delivery-status, RFC 3464) is read field
// by field; without one, a message from a mailer daemon (or with an empty
// Return-Path) whose subject reads like a bounce is mined for the failed
// recipient and status. A DSN that only reports successful delivery is not
// a bounce. dsn is the delivery-status part; original is the returned
// message or its headers.
func detectBounce(m *Message, dsn, original []byte) *Bounce {
	var b *Bounce
	if dsn != nil {
		b = parseDSN(dsn)
		if b == nil {
			return nil // a success report ("delivered", "relayed", "expanded")
		}
	} else if looksLikeBounce(m) {
		b = mineBounce(m)
	} else {
		return nil
	}
	if b.Recipient == "" {
		if v := strings.TrimSpace(m.Headers.Get("X-Failed-Recipients")); v != "" {
			b.Recipient = strings.TrimSpace(strings.Split(v, ",")[0])
		}
	}
	b.BouncedMessageID = originalMessageID(original, m.Text)
	return b
}

// parseDSN reads a message/delivery-status body: a per-message block, then
// one block per recipient. The first failed recipient wins, else the first
// delayed one; nil when every recipient was delivered.
func parseDSN(body []byte) *Bounce {
	var failed, delayed *Bounce
	for _, block := range dsnBlocks(body) {
		action := strings.ToLower(block.Get("Action"))
		rcpt := dsnValue(block.Get("Final-Recipient"))
		if rcpt == "" {
			rcpt = dsnValue(block.Get("Original-Recipient"))
		}
		if rcpt == "" && action == "" {
			continue // the per-message block
		}
		status := enhancedStatus.FindString(block.Get("Status"))
		diag := unfold(dsnValue(block.Get("Diagnostic-Code")))
		if status == "" {
			status = statusFromText(diag)
		}
		b := &Bounce{Recipient: strings.Trim(rcpt, "<> "), Status: status, Reason: diag}
		switch {
		case strings.HasPrefix(action, "failed") || action == "" && strings.HasPrefix(status, "5"):
			if b.Status == "" || !strings.HasPrefix(b.Status, "5") && !strings.HasPrefix(b.Status, "4") {
				b.Status = "5.0.0"
			}
			if b.Reason == "" {
				b.Reason = "delivery failed"
			}
			if failed == nil {
				failed = b
			}
		case strings.HasPrefix(action, "delayed") || action == "" && strings.HasPrefix(status, "4"):
			if !strings.HasPrefix(b.Status, "4") {
				b.Status = "4.0.0"
			}
			if b.Reason == "" {
				b.Reason = "delivery delayed; the server is still retrying"
			}
			if delayed == nil {
				delayed = b
			}
		}
	}
	if failed != nil {
		return failed
	}
	return delayed
}

// dsnBlocks splits a delivery-status body into its header blocks.
func dsnBlocks(body []byte) []mail.Header {
	var blocks []mail.Header
	text := strings.ReplaceAll(string(body), "\r\n", "\n")
	for _, chunk := range blankLine.Split(text, -1) {
		if strings.TrimSpace(chunk) == "" {
			continue
		}
		h, err := enmime.ReadHeader(bufio.NewReader(strings.NewReader(strings.TrimLeft(chunk, "\n")+"\n\n")), discard{})
		if err != nil {
			continue
		}
		blocks = append(blocks, mail.Header(h))
	}
	return blocks
}

// dsnValue drops the type prefix of a DSN field ("rfc822; a@b", "smtp; 550 …").
func dsnValue(v string) string {
	if i := strings.IndexByte(v, ';'); i >= 0 && i < 20 && !strings.ContainsAny(v[:i], " @") {
		v = v[i+1:]
	}
	return strings.TrimSpace(v)
}

// statusFromText finds a status in free text: an enhanced code if there is
// one, else the class of an SMTP reply code.
func statusFromText(s string) string {
	if st := enhancedStatus.FindString(s); st != "" && st[0] != '2' {
		return st
	}
	if m := smtpCode.FindStringSubmatch(s); m != nil {
		return m[1][:1] + ".0.0"
	}
	return ""
}

func looksLikeBounce(m *Message) bool {
	if !bounceSubject.MatchString(m.Subject) {
		return false
	}
	local, _, _ := strings.Cut(m.From.Address, "@")
	if daemonLocal.MatchString(local) || daemonName.MatchString(m.From.Name) {
		return true
	}
	if rp := strings.TrimSpace(m.Headers.Get("Return-Path")); rp == "<>" {
		return true
	}
	return m.Headers.Get("X-Failed-Recipients") != "" || enhancedStatus.MatchString(m.Text)
}

// mineBounce extracts what it can from a bounce written for people: the
// failed recipient is the first address in the text that is neither the
// bounce's own sender or recipient nor a daemon, preferring one on a line
// that carries an error code; the reason is that line.
func mineBounce(m *Message) *Bounce {
	// A report whose MIME structure broke still carries its fields.
	if b := parseDSN([]byte(m.Text)); b != nil {
		return b
	}
	own := map[string]bool{strings.ToLower(m.From.Address): true}
	for _, a := range m.To {
		own[strings.ToLower(a.Address)] = true
	}
	text := m.Text
	// Only the report, not the returned message quoted below it.
	for _, marker := range []string{"------ This is a copy of the message", "--- Below this line is a copy",
		"----- Original message -----", "------ Original message", "Original message headers:",
		"\nReceived: from"} {
		if i := strings.Index(text, marker); i > 0 {
			text = text[:i]
		}
	}
	b := &Bounce{}
	var firstAddr string
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		for _, a := range emailAddr.FindAllString(line, -1) {
			la := strings.ToLower(strings.TrimRight(a, "."))
			local, _, _ := strings.Cut(la, "@")
			if own[la] || daemonLocal.MatchString(local) {
				continue
			}
			if firstAddr == "" {
				firstAddr = strings.TrimRight(a, ".")
			}
			if b.Recipient == "" && statusFromText(line) != "" {
				b.Recipient = strings.TrimRight(a, ".")
			}
		}
		if b.Reason == "" && statusFromText(line) != "" {
			b.Reason = truncate(line, 300)
			b.Status = statusFromText(line)
		}
	}
	if b.Recipient == "" {
		b.Recipient = firstAddr
	}
	if b.Status == "" {
		b.Status = statusFromText(m.Text)
	}
	if b.Status == "" {
		b.Status = "5.0.0"
		if delayWords.MatchString(m.Subject) {
			b.Status = "4.0.0"
		}
	}
	if b.Reason == "" {
		b.Reason = truncate(unfold(firstParagraph(text)), 300)
	}
	return b
}

// originalMessageID finds the Message-ID of the bounced message: in the
// returned message or headers part, else in a copy quoted in the text.
func originalMessageID(original []byte, text string) string {
	if original != nil {
		h, err := enmime.ReadHeader(bufio.NewReader(bytes.NewReader(original)), discard{})
		if err == nil {
			if id := firstID(h.Get("Message-Id")); id != "" {
				return id
			}
		}
		if m := messageIDLine.FindSubmatch(original); m != nil {
			return string(m[1])
		}
	}
	if m := messageIDLine.FindStringSubmatch(text); m != nil {
		return m[1]
	}
	return ""
}

func firstParagraph(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, "\n\n"); i > 0 {
		return s[:i]
	}
	return s
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
