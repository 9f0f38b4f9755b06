package email

import (
	"bytes"
	"fmt"
	"strings"
)

// decodeTransfer undoes a Content-Transfer-Encoding. It is lenient on
// purpose: a part with a few bad base64 characters or a stray '=' in
// quoted-printable still yields everything that can be recovered, and the
// damage is reported as a problem instead of losing the part.
func decodeTransfer(raw []byte, cte string) ([]byte, []string) {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "", "7bit", "8bit", "binary", "7-bit", "8-bit":
		return raw, nil
	case "base64":
		return decodeBase64Body(raw)
	case "quoted-printable", "quoted_printable", "qp":
		return decodeQuotedPrintable(raw), nil
	case "x-uuencode", "x-uue", "uuencode":
		if out, ok := decodeUU(raw); ok {
			return out, nil
		}
		return raw, []string{"malformed uuencoded content kept as is"}
	default:
		return raw, []string{fmt.Sprintf("unknown Content-Transfer-Encoding %q; content kept as is", cte)}
	}
}

// decodeBase64Body decodes a base64 body, skipping line breaks, stray
// characters and padding in the middle (from concatenated encoders).
func decodeBase64Body(raw []byte) ([]byte, []string) {
	if !looksBase64(raw) {
		return raw, []string{"declared base64 but the content is not base64; kept as is"}
	}
	out, ok := decodeBase64Loose(string(raw))
	if !ok {
		return out, []string{"malformed base64 content; decoded what could be recovered"}
	}
	return out, nil
}

// looksBase64 rejects content that is evidently not base64 (a mailer that
// declared the wrong encoding): most lines containing white space inside,
// which encoders never produce.
func looksBase64(raw []byte) bool {
	lines, spaced := 0, 0
	for line := range bytes.Lines(raw) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		lines++
		if bytes.ContainsAny(line, " \t") {
			spaced++
		}
	}
	return spaced*2 <= lines
}

// decodeQuotedPrintable decodes quoted-printable without ever failing:
// invalid escapes are kept literally, as most mail clients do.
func decodeQuotedPrintable(raw []byte) []byte {
	out := make([]byte, 0, len(raw))
	for len(raw) > 0 {
		line := raw
		nl := bytes.IndexByte(raw, '\n')
		if nl >= 0 {
			line, raw = raw[:nl], raw[nl+1:]
		} else {
			raw = nil
		}
		line = bytes.TrimRight(line, "\r")
		// Transport may add trailing white space; RFC 2045 says drop it.
		line = bytes.TrimRight(line, " \t")
		soft := false
		if bytes.HasSuffix(line, []byte("=")) {
			soft = true
			line = line[:len(line)-1]
		}
		for i := 0; i < len(line); i++ {
			c := line[i]
			if c == '=' && i+2 < len(line) && isHex(line[i+1]) && isHex(line[i+2]) {
				out = append(out, unhex(line[i+1])<<4|unhex(line[i+2]))
				i += 2
				continue
			}
			out = append(out, c)
		}
		if !soft && nl >= 0 {
			out = append(out, '\r', '\n')
		}
	}
	return out
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// decodeUU decodes a uuencoded body ("begin 644 name" … "end").
func decodeUU(raw []byte) ([]byte, bool) {
	lines := strings.Split(strings.ReplaceAll(string(raw), "\r\n", "\n"), "\n")
	var out []byte
	started := false
	for _, l := range lines {
		if !started {
			started = strings.HasPrefix(l, "begin ")
			continue
		}
		if l == "end" || l == "`" || l == "" {
			if l == "end" {
				return out, true
			}
			continue
		}
		n := int((l[0] - ' ') & 0x3f)
		data := l[1:]
		var dec []byte
		for i := 0; i < len(data) && len(dec) < n; i += 4 {
			var q [4]byte
			for k := 0; k < 4; k++ {
				if i+k < len(data) {
					q[k] = (data[i+k] - ' ') & 0x3f
				}
			}
			dec = append(dec, q[0]<<2|q[1]>>4, q[1]<<4|q[2]>>2, q[2]<<6|q[3])
		}
		if len(dec) > n {
			dec = dec[:n]
		}
		out = append(out, dec...)
	}
	return out, started
}
