package email

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// encodedWord matches an RFC 2047 encoded word. The charset may carry an
// RFC 2231 language suffix (=?utf-8*zh?B?...?=). Encoded text is matched
// loosely (anything but '?' and line breaks, so spaces too) because sloppy
// encoders put raw spaces in Q words.
var encodedWord = regexp.MustCompile(`=\?([^?\s]+)\?([bBqQ])\?([^?\r\n]*)\?=`)

// word is one encoded word, decoded to bytes but not yet to characters.
type word struct {
	start, end int // position in the header value
	charset    string
	data       []byte
}

// headerDecoder decodes the header text of one message.
type headerDecoder struct {
	// hint is the charset the message declares elsewhere, the best guess
	// for header bytes that declare none; nil if it declares none.
	hint    *charset
	problem func(string)
}

// decodeHeader decodes a header value for display: RFC 2047 encoded words
// (joining adjacent words of one charset first, so a multi-byte character
// split across two words survives), undeclared 8-bit bytes, and unfolding.
func (d *headerDecoder) decodeHeader(raw string) string {
	s := d.eightBit(raw)
	if strings.Contains(s, "=?") {
		s = d.decodeWords(s)
	}
	return unfold(s)
}

// eightBit decodes raw 8-bit bytes in a header, which declare no charset:
// UTF-8 when valid (RFC 6532), else the message's own charset, else a
// guess among GB18030, Big5 and Windows-1252.
func (d *headerDecoder) eightBit(s string) string {
	if isASCII([]byte(s)) || utf8.ValidString(s) {
		return s
	}
	// A UTF-8 value cut short by a line-length limit ends mid-character.
	for i := 1; i <= 3 && i < len(s); i++ {
		if !utf8.FullRuneInString(s[len(s)-i:]) && utf8.ValidString(s[:len(s)-i]) {
			d.problem("header text truncated in the middle of a UTF-8 character")
			return s[:len(s)-i]
		}
	}
	if good := goodUTF8([]byte(s)); good >= 3 && good >= badUTF8([]byte(s)) {
		d.problem("header text is UTF-8 mixed with other bytes; those read as windows-1252")
		return utf8OrLatin([]byte(s))
	}
	if d.hint != nil && !isSingleByteLatin(*d.hint) {
		cs := *d.hint
		if cs == csJIS {
			cs = csShiftJIS // ISO-2022-JP is 7-bit; 8-bit Japanese is Shift_JIS
		}
		if out, errs := decodeWith(cs, []byte(s)); errs == 0 {
			d.problem(fmt.Sprintf("undeclared 8-bit header text decoded as %s (the message's charset)", cs.name))
			return out
		}
	}
	cs := guessCJK([]byte(s))
	out, _ := decodeWith(cs, []byte(s))
	d.problem(fmt.Sprintf("undeclared 8-bit header text decoded as %s (guessed)", cs.name))
	return out
}

// decodeWords replaces every run of encoded words in s by its text.
func (d *headerDecoder) decodeWords(s string) string {
	locs := encodedWord.FindAllStringSubmatchIndex(s, -1)
	if locs == nil {
		return s
	}
	words := make([]word, 0, len(locs))
	carry := "" // base64 text split mid-quantum, carried into the next word
	for i, m := range locs {
		cs := strings.ToLower(s[m[2]:m[3]])
		if j := strings.IndexByte(cs, '*'); j >= 0 {
			cs = cs[:j]
		}
		enc, text := s[m[4]:m[5]], s[m[6]:m[7]]
		var data []byte
		if enc == "b" || enc == "B" {
			text = carry + text
			carry = ""
			// Some encoders split the base64 text itself across words;
			// join the pieces when the next word continues the same charset.
			if len(text)%4 != 0 && !strings.Contains(text, "=") && i+1 < len(locs) &&
				strings.EqualFold(s[locs[i+1][2]:locs[i+1][3]], s[m[2]:m[3]]) && blank(s[m[1]:locs[i+1][0]]) {
				carry = text
				data = nil
			} else {
				var ok bool
				data, ok = decodeBase64Loose(text)
				if !ok {
					d.problem(fmt.Sprintf("malformed base64 in encoded word %q", s[m[0]:m[1]]))
				}
			}
		} else {
			data = decodeQWord(text)
		}
		words = append(words, word{start: m[0], end: m[1], charset: cs, data: data})
	}

	var b strings.Builder
	last := 0
	for i := 0; i < len(words); {
		w := words[i]
		b.WriteString(s[last:w.start])
		// Join the run of adjacent words (only whitespace between them)
		// that share this charset; RFC 2047 drops that whitespace.
		data := append([]byte(nil), w.data...)
		end := w.end
		j := i + 1
		for ; j < len(words); j++ {
			gap := s[words[j-1].end:words[j].start]
			if !blank(gap) {
				break
			}
			if !sameCharset(words[j].charset, w.charset) {
				b.WriteString(d.decodeWordText(data, w.charset))
				data = append([]byte(nil), words[j].data...)
				w = words[j]
				end = w.end
				continue
			}
			data = append(data, words[j].data...)
			end = words[j].end
		}
		b.WriteString(d.decodeWordText(data, w.charset))
		last = end
		i = j
	}
	b.WriteString(s[last:])
	return b.String()
}

func (d *headerDecoder) decodeWordText(data []byte, cs string) string {
	text, problems := decodeText(data, cs)
	for _, p := range problems {
		d.problem("header: " + p)
	}
	// Encoded words may not encode line breaks; drop any that a broken
	// encoder put there so headers stay one line.
	return strings.NewReplacer("\r", " ", "\n", " ", "\x00", "").Replace(text)
}

func sameCharset(a, b string) bool {
	if a == b {
		return true
	}
	ca, okA := lookupCharset(a)
	cb, okB := lookupCharset(b)
	return okA && okB && ca == cb
}

func blank(s string) bool {
	return strings.TrimLeft(s, " \t\r\n") == ""
}

// decodeQWord decodes RFC 2047 "Q" text, keeping malformed escapes as they
// are rather than losing the word.
func decodeQWord(s string) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '_':
			out = append(out, ' ')
		case c == '=' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			v, _ := hex.DecodeString(s[i+1 : i+3])
			out = append(out, v...)
			i += 2
		default:
			out = append(out, c)
		}
	}
	return out
}

// decodeBase64Loose decodes base64 ignoring padding and stray characters.
// ok is false when something had to be dropped.
func decodeBase64Loose(s string) ([]byte, bool) {
	clean := make([]byte, 0, len(s))
	ok := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/':
			clean = append(clean, c)
		case c == '-':
			clean = append(clean, '+') // URL-safe alphabet
		case c == '_':
			clean = append(clean, '/')
		case c == '=', c == ' ', c == '\t', c == '\r', c == '\n':
		default:
			ok = false
		}
	}
	if len(clean)%4 == 1 {
		clean = clean[:len(clean)-1]
		ok = false
	}
	out := make([]byte, base64.RawStdEncoding.DecodedLen(len(clean)))
	n, err := base64.RawStdEncoding.Decode(out, clean)
	if err != nil {
		ok = false
	}
	return out[:n], ok
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

var spaces = regexp.MustCompile(`[\s\p{Zs}]+`)

// unfold joins folded header lines and collapses runs of white space.
func unfold(s string) string {
	return strings.TrimSpace(spaces.ReplaceAllString(s, " "))
}

// param returns the decoded value of a MIME parameter (such as filename)
// from a raw Content-Type or Content-Disposition value. It handles RFC 2231
// extended and continued values in any charset we can decode (the standard
// library only knows UTF-8 and US-ASCII there and drops the rest), and
// RFC 2047 or raw 8-bit values, which many clients send instead.
func (d *headerDecoder) param(raw, name string) string {
	params := splitParams(raw)
	if v, ok := d.extendedParam(params, name); ok {
		return v
	}
	if v, ok := params[name]; ok {
		return d.decodeHeader(v)
	}
	// Continuations without the extended marker: name*0="..." name*1="...".
	var b strings.Builder
	for i := 0; ; i++ {
		v, ok := params[fmt.Sprintf("%s*%d", name, i)]
		if !ok {
			break
		}
		b.WriteString(v)
	}
	return d.decodeHeader(b.String())
}

// extendedParam assembles an RFC 2231 value: name*=cs'lang'%xx or the
// continued form name*0*=cs'lang'%xx name*1*=%xx name*2="plain".
func (d *headerDecoder) extendedParam(params map[string]string, name string) (string, bool) {
	var raw []byte
	cs := ""
	if v, ok := params[name+"*"]; ok {
		cs, v = splitCharset(v)
		raw = percentDecode(v)
	} else {
		found := false
		for i := 0; ; i++ {
			if v, ok := params[fmt.Sprintf("%s*%d*", name, i)]; ok {
				if i == 0 {
					cs, v = splitCharset(v)
				}
				raw = append(raw, percentDecode(v)...)
				found = true
				continue
			}
			if v, ok := params[fmt.Sprintf("%s*%d", name, i)]; ok {
				raw = append(raw, v...)
				continue
			}
			break
		}
		if !found {
			return "", false
		}
	}
	if cs == "" {
		return unfold(d.eightBit(string(raw))), true
	}
	text, problems := decodeText(raw, cs)
	for _, p := range problems {
		d.problem("parameter " + name + ": " + p)
	}
	return unfold(text), true
}

func splitCharset(v string) (cs, rest string) {
	parts := strings.SplitN(v, "'", 3)
	if len(parts) != 3 {
		return "", v
	}
	return parts[0], parts[2]
}

func percentDecode(s string) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			v, _ := hex.DecodeString(s[i+1 : i+3])
			out = append(out, v...)
			i += 2
			continue
		}
		out = append(out, s[i])
	}
	return out
}

// splitParams splits the parameters of a structured header value into a
// map of lower-cased names to unquoted values. It is deliberately forgiving
// (unquoted spaces, missing quotes, stray semicolons) because it only runs
// to recover names that strict parsing would lose.
func splitParams(raw string) map[string]string {
	params := map[string]string{}
	s := unfold(raw)
	// Skip the media type or disposition before the first ';'.
	i := strings.IndexByte(s, ';')
	if i < 0 {
		return params
	}
	s = s[i+1:]
	for len(s) > 0 {
		s = strings.TrimLeft(s, " ;")
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			break
		}
		key := strings.ToLower(strings.TrimSpace(s[:eq]))
		s = strings.TrimLeft(s[eq+1:], " ")
		var val string
		if strings.HasPrefix(s, `"`) {
			var b strings.Builder
			j := 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				b.WriteByte(s[j])
			}
			val = b.String()
			s = s[min(j+1, len(s)):]
		} else {
			end := strings.IndexByte(s, ';')
			if end < 0 {
				end = len(s)
			}
			val = strings.TrimSpace(s[:end])
			s = s[end:]
		}
		if _, dup := params[key]; !dup && key != "" {
			params[key] = val
		}
	}
	return params
}
