package email

import (
	"fmt"
	"mime"
	"net/mail"
	"regexp"
	"strings"
)

// Address is a mailbox with its decoded display name.
type Address struct {
	Name    string `json:"name"`
	Address string `json:"address"`
}

// parseAddressList parses an address header leniently. Display names are
// decoded (RFC 2047, joined split words, undeclared 8-bit text); a list the
// standard parser rejects is salvaged piece by piece, and what cannot be
// read at all is reported rather than silently dropped.
func (d *headerDecoder) addressList(field, raw string) []Address {
	if strings.TrimSpace(raw) == "" {
		return []Address{}
	}
	s := d.normaliseWords(raw)
	p := mail.AddressParser{WordDecoder: &mime.WordDecoder{}}
	if list, err := p.ParseList(s); err == nil {
		out := make([]Address, 0, len(list))
		for _, a := range list {
			out = append(out, Address{Name: d.cleanName(a.Name), Address: a.Address})
		}
		return out
	}
	out := d.salvageAddresses(s)
	d.problem(fmt.Sprintf("%s: malformed address list %q; salvaged %d address(es)", field, unfold(raw), len(out)))
	return out
}

// normaliseWords prepares a raw address header for net/mail: undeclared
// 8-bit text becomes UTF-8, and each run of encoded words becomes one
// UTF-8 encoded word (so split multi-byte characters, GBK and sloppy
// base64 are dealt with here, once, by decodeHeader).
func (d *headerDecoder) normaliseWords(raw string) string {
	s := d.eightBit(raw)
	if !strings.Contains(s, "=?") {
		return s
	}
	locs := encodedWord.FindAllStringIndex(s, -1)
	var b strings.Builder
	last := 0
	for i := 0; i < len(locs); {
		j := i + 1
		for j < len(locs) && blank(s[locs[j-1][1]:locs[j][0]]) {
			j++
		}
		b.WriteString(s[last:locs[i][0]])
		text := d.decodeWords(s[locs[i][0]:locs[j-1][1]])
		b.WriteString(mime.BEncoding.Encode("utf-8", text))
		last = locs[j-1][1]
		i = j
	}
	b.WriteString(s[last:])
	return b.String()
}

// cleanName finishes a display name: net/mail leaves encoded words inside
// quoted strings alone, and real mailers put them there all the time.
func (d *headerDecoder) cleanName(name string) string {
	name = d.decodeHeader(name)
	name = strings.Trim(name, `"' `)
	return name
}

var (
	addrSpec  = regexp.MustCompile(`[^\s<>()\[\],;:"']+@[^\s<>()\[\],;:"']+`)
	angleAddr = regexp.MustCompile(`<\s*([^<>\s]*)\s*>`)
)

// salvageAddresses recovers what it can from a malformed list: each
// comma- or semicolon-separated piece (outside quotes) with something that
// looks like an address, the rest of the piece as the name.
func (d *headerDecoder) salvageAddresses(s string) []Address {
	out := []Address{}
	for _, piece := range splitOutsideQuotes(s) {
		piece = strings.TrimSpace(piece)
		if piece == "" {
			continue
		}
		if a, err := mail.ParseAddress(piece); err == nil {
			out = append(out, Address{Name: d.cleanName(a.Name), Address: a.Address})
			continue
		}
		var addr, name string
		if m := angleAddr.FindStringSubmatchIndex(piece); m != nil {
			addr = piece[m[2]:m[3]]
			name = piece[:m[0]] + piece[m[1]:]
		} else if m := addrSpec.FindStringIndex(piece); m != nil {
			addr = piece[m[0]:m[1]]
			name = piece[:m[0]] + piece[m[1]:]
		} else {
			continue
		}
		name = strings.TrimSpace(strings.Trim(strings.TrimSpace(name), `"'()`))
		out = append(out, Address{Name: d.cleanName(name), Address: strings.Trim(addr, `"'`)})
	}
	return out
}

// splitOutsideQuotes splits on ',' and ';' that are not inside quotes or
// angle brackets.
func splitOutsideQuotes(s string) []string {
	var parts []string
	inQuote, inAngle := false, false
	start := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && inQuote:
			i++
		case c == '"':
			inQuote = !inQuote
		case c == '<' && !inQuote:
			inAngle = true
		case c == '>' && !inQuote:
			inAngle = false
		case !inQuote && !inAngle && (c == ',' || c == ';'):
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}
