package email

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
)

// charset is a resolved charset label: the decoder and the name we report.
type charset struct {
	name string
	enc  encoding.Encoding // nil for UTF-8 and for US-ASCII
}

var (
	csUTF8     = charset{name: "utf-8"}
	csUTF7     = charset{name: "utf-7"} // decoded by decodeUTF7
	csASCII    = charset{name: "us-ascii"}
	csGB18030  = charset{name: "gb18030", enc: simplifiedchinese.GB18030}
	csBig5     = charset{name: "big5", enc: traditionalchinese.Big5}
	csLatin    = charset{name: "windows-1252", enc: charmap.Windows1252}
	csJIS      = charset{name: "iso-2022-jp", enc: japanese.ISO2022JP}
	csShiftJIS = charset{name: "shift_jis", enc: japanese.ShiftJIS}
	csEUCJP    = charset{name: "euc-jp", enc: japanese.EUCJP}
)

// chineseLabels maps every GB label to GB18030: real senders label GBK and
// even GB18030 text as GB2312, and GB18030 decodes all of GB2312 and GBK
// identically (it is what the WHATWG "gbk" decoder does too).
var chineseLabels = map[string]charset{
	"gb2312": csGB18030, "gb_2312": csGB18030, "gb_2312-80": csGB18030, "csgb2312": csGB18030,
	"csiso58gb231280": csGB18030, "iso-ir-58": csGB18030, "chinese": csGB18030, "euc-cn": csGB18030,
	"x-euc-cn": csGB18030, "gbk": csGB18030, "x-gbk": csGB18030, "cp936": csGB18030, "ms936": csGB18030,
	"windows-936": csGB18030, "gb18030": csGB18030, "gb-18030": csGB18030, "gb18030-2000": csGB18030,
	"gb18030-2005": csGB18030, "gb18030-2022": csGB18030,
	"big5": csBig5, "big-5": csBig5, "big5-hkscs": csBig5, "cn-big5": csBig5, "csbig5": csBig5,
	"x-x-big5": csBig5, "cp950": csBig5, "ms950": csBig5, "windows-950": csBig5, "big5hkscs": csBig5,
	"hz-gb-2312": {name: "hz-gb-2312", enc: simplifiedchinese.HZGB2312},
}

// lookupCharset resolves a declared charset label. ok is false when the
// label is not a charset we can decode.
func lookupCharset(label string) (cs charset, ok bool) {
	l := strings.ToLower(strings.Trim(strings.TrimSpace(label), `"'`))
	// Mangled declarations seen in the wild: charset="charset=utf-8",
	// "utf-8;", "iso-8859-1 (latin)".
	if i := strings.LastIndexByte(l, '='); i >= 0 {
		l = l[i+1:]
	}
	if i := strings.IndexAny(l, "; ("); i >= 0 {
		l = l[:i]
	}
	switch l {
	case "":
		return charset{}, false
	case "utf-8", "utf8", "unicode-1-1-utf-8", "x-unicode20utf8":
		return csUTF8, true
	case "utf-7", "utf7", "unicode-1-1-utf-7", "x-unicode-2-0-utf-7", "csunicode11utf7":
		return csUTF7, true
	case "us-ascii", "ascii", "us_ascii", "ansi_x3.4-1968", "iso646-us", "646", "7bit", "8bit", "default":
		return csASCII, true
	}
	if cs, ok := chineseLabels[l]; ok {
		return cs, true
	}
	// Invented labels that still name a Chinese charset: "iso-gb2312",
	// "x-gbk2312", "big5-2003".
	switch {
	case strings.Contains(l, "gb2312"), strings.Contains(l, "gbk"), strings.Contains(l, "gb18030"):
		return csGB18030, true
	case strings.Contains(l, "big5"):
		return csBig5, true
	}
	for _, name := range []string{l, strings.TrimPrefix(l, "x-")} {
		if enc, err := htmlindex.Get(name); err == nil {
			return charset{name: name, enc: enc}, true
		}
		if enc, err := ianaindex.IANA.Encoding(name); err == nil && enc != nil {
			return charset{name: name, enc: enc}, true
		}
	}
	return charset{}, false
}

// decodeText converts text in the declared charset label to UTF-8. It never
// fails: when the label is missing, unknown or evidently wrong it guesses,
// and says so in the returned problems.
func decodeText(b []byte, label string) (string, []string) {
	cs, ok := lookupCharset(label)
	var problems []string
	if !ok && label != "" {
		problems = append(problems, fmt.Sprintf("unknown charset %q", label))
	}
	if !ok || cs == csASCII {
		s, guessed := decodeUndeclared(b)
		if guessed != "" {
			problems = append(problems, fmt.Sprintf("undeclared 8-bit text decoded as %s (guessed)", guessed))
		}
		return s, problems
	}
	if cs == csUTF7 {
		out, ok := decodeUTF7(b)
		if !ok {
			problems = append(problems, "malformed utf-7 text")
		}
		return out, problems
	}
	if cs == csUTF8 {
		if utf8.Valid(b) {
			return string(b), problems
		}
		// Mislabelled GBK is far more common than corrupted UTF-8 in mail
		// to Chinese shops; switch only when UTF-8 is mostly broken.
		if badUTF8(b) > goodUTF8(b) {
			guess := guessCJK(b)
			if s, errs := decodeWith(guess, b); errs == 0 {
				return s, append(problems, fmt.Sprintf("declared utf-8 is not valid UTF-8; decoded as %s (guessed)", guess.name))
			}
		}
		return utf8OrLatin(b), append(problems, "invalid UTF-8 bytes read as windows-1252")
	}
	if cs.enc != nil && !isStateful(cs) && !isASCII(b) {
		// Text that is (mostly) valid UTF-8 under another label is UTF-8:
		// legacy charsets practically never form long valid UTF-8 runs.
		if utf8.Valid(b) && (isSingleByteLatin(cs) || goodUTF8(b) >= 3) {
			return string(b), append(problems, fmt.Sprintf("declared %s but the text is UTF-8", cs.name))
		}
		if good := goodUTF8(b); good >= 3 && good >= badUTF8(b) {
			return utf8OrLatin(b), append(problems, fmt.Sprintf("declared %s but the text is mostly UTF-8; other bytes read as windows-1252", cs.name))
		}
	}
	if cs == csJIS && !isASCII(b) {
		// 8-bit bytes cannot be ISO-2022-JP: Japanese mailers that say so
		// mean Shift_JIS (or, less often, EUC-JP).
		sj, sjErrs := decodeWith(csShiftJIS, b)
		if euc, eucErrs := decodeWith(csEUCJP, b); eucErrs < sjErrs {
			return euc, append(problems, "declared iso-2022-jp but the text is 8-bit; decoded as euc-jp")
		}
		return sj, append(problems, "declared iso-2022-jp but the text is 8-bit; decoded as shift_jis")
	}
	s, errs := decodeWith(cs, b)
	if errs > 0 {
		problems = append(problems, fmt.Sprintf("%d undecodable sequences in %s text", errs, cs.name))
	}
	return s, problems
}

// decodeUndeclared handles text with no usable charset: ASCII and UTF-8 as
// they are, ISO-2022-JP by its escape sequences, and other 8-bit text by
// guessing among GB18030, Big5 and Windows-1252. guessed names the charset
// when it was a guess.
func decodeUndeclared(b []byte) (s string, guessed string) {
	if isASCII(b) {
		if bytes.Contains(b, []byte("\x1b$B")) || bytes.Contains(b, []byte("\x1b$@")) {
			s, _ := decodeWith(csJIS, b)
			return s, csJIS.name
		}
		return string(b), ""
	}
	if utf8.Valid(b) {
		return string(b), ""
	}
	if good := goodUTF8(b); good >= 3 && good >= badUTF8(b) {
		return utf8OrLatin(b), "utf-8 mixed with windows-1252"
	}
	cs := guessCJK(b)
	s, _ = decodeWith(cs, b)
	return s, cs.name
}

// utf8OrLatin decodes text that mixes UTF-8 with single bytes from a
// legacy charset (pasted or concatenated content): valid UTF-8 sequences
// as UTF-8, every other byte as Windows-1252.
func utf8OrLatin(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b))
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			s, _ := decodeWith(csLatin, b[:1])
			sb.WriteString(s)
		} else {
			sb.WriteRune(r)
		}
		b = b[size:]
	}
	return sb.String()
}

// isStateful reports charsets whose bytes are not a superset of ASCII or
// whose text cannot be mistaken for UTF-8.
func isStateful(cs charset) bool {
	return strings.HasPrefix(cs.name, "utf-16") || strings.HasPrefix(cs.name, "utf-32") || cs == csJIS ||
		strings.HasPrefix(cs.name, "iso-2022") || strings.HasPrefix(cs.name, "hz")
}

// decodeWith decodes b and counts the replacement characters the decoder
// introduced (those already in the input are not its fault).
func decodeWith(cs charset, b []byte) (string, int) {
	if cs.enc == nil {
		s := strings.ToValidUTF8(string(b), "\uFFFD")
		return s, strings.Count(s, "\uFFFD") - strings.Count(string(b), "\uFFFD")
	}
	out, err := cs.enc.NewDecoder().Bytes(b)
	if err != nil {
		// x/text decoders replace invalid input rather than failing; an
		// error here means a stateful decoder gave up, so keep the bytes.
		s := strings.ToValidUTF8(string(b), "\uFFFD")
		return s, max(1, strings.Count(s, "\uFFFD"))
	}
	s := string(out)
	return s, strings.Count(s, "\uFFFD") - bytes.Count(b, []byte("\uFFFD"))
}

// guessCJK picks the most plausible charset for undeclared 8-bit text.
// GB18030 accepts nearly every byte sequence and Big5 most, so decoding
// without errors proves little; what tells them apart is how many
// double-byte pairs fall in the ranges where each standard puts its common
// characters (GB2312 level 1 and symbols, Big5 level 1 and symbols). Text
// where neither scores is taken to be Latin (Windows-1252).
func guessCJK(b []byte) charset {
	gb := scorePairs(b, isGBCommon)
	big5 := scorePairs(b, isBig5Common)
	_, gbErrs := decodeWith(csGB18030, b)
	_, big5Errs := decodeWith(csBig5, b)
	gbScore := gb.ratio() - 3*float64(gbErrs)/float64(max(gb.pairs, 1))
	big5Score := big5.ratio() - 3*float64(big5Errs)/float64(max(big5.pairs, 1))
	if gbScore < 0.2 && big5Score < 0.2 {
		if _, errs := decodeWith(csLatin, b); errs == 0 {
			return csLatin
		}
	}
	if big5Score > gbScore {
		return csBig5
	}
	return csGB18030
}

type pairStats struct{ pairs, common int }

func (p pairStats) ratio() float64 {
	if p.pairs == 0 {
		return 0
	}
	return float64(p.common) / float64(p.pairs)
}

// scorePairs walks b as a double-byte charset (lead 0x81–0xFE) and counts
// the pairs common reports as frequent characters.
func scorePairs(b []byte, common func(lead, trail byte) bool) pairStats {
	var st pairStats
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c < 0x81 || c == 0xFF || i+1 >= len(b) {
			continue
		}
		t := b[i+1]
		if t >= 0x30 && t <= 0x39 && i+3 < len(b) {
			i += 3 // a GB18030 four-byte sequence: rare characters
			st.pairs++
			continue
		}
		st.pairs++
		if common(c, t) {
			st.common++
		}
		i++
	}
	return st
}

func isGBCommon(lead, trail byte) bool {
	return trail >= 0xA1 && trail <= 0xFE && (lead >= 0xB0 && lead <= 0xD7 || lead >= 0xA1 && lead <= 0xA3)
}

func isBig5Common(lead, trail byte) bool {
	okTrail := trail >= 0x40 && trail <= 0x7E || trail >= 0xA1 && trail <= 0xFE
	return okTrail && lead >= 0xA1 && lead <= 0xC6 && !(lead == 0xC6 && trail > 0x7E)
}

func isSingleByteLatin(cs charset) bool {
	switch cs.enc {
	case charmap.ISO8859_1, charmap.Windows1252, charmap.ISO8859_15:
		return true
	}
	return false
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

func goodUTF8(b []byte) int {
	n := 0
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r != utf8.RuneError && size > 1 {
			n++
		}
		b = b[size:]
	}
	return n
}

func badUTF8(b []byte) int {
	n := 0
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			n++
		}
		b = b[size:]
	}
	return n
}

// decodeUTF7 decodes RFC 2152 UTF-7 (old Exchange and Outlook still send
// it): "+" starts modified base64 of UTF-16BE, ended by "-" or any
// character outside the base64 alphabet. ok is false when some of it was
// not valid.
func decodeUTF7(b []byte) (string, bool) {
	var sb strings.Builder
	ok := true
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '+' {
			if c >= 0x80 {
				ok = false
			}
			sb.WriteByte(c)
			continue
		}
		j := i + 1
		for j < len(b) && isBase64Char(b[j]) {
			j++
		}
		if j == i+1 {
			if j < len(b) && b[j] == '-' {
				j++ // "+-" is a literal plus
			}
			sb.WriteByte('+')
			i = j - 1
			continue
		}
		raw, good := decodeBase64Loose(string(b[i+1 : j]))
		ok = ok && good
		units := make([]uint16, 0, len(raw)/2)
		for k := 0; k+1 < len(raw); k += 2 {
			units = append(units, uint16(raw[k])<<8|uint16(raw[k+1]))
		}
		sb.WriteString(string(utf16.Decode(units)))
		if j < len(b) && b[j] == '-' {
			j++
		}
		i = j - 1
	}
	return sb.String(), ok
}

func isBase64Char(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/'
}
