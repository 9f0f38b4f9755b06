package search

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Chinese is written without spaces and no word list fits every shop's
// products, so CJK text is cut into overlapping bigrams: 申请退货 becomes
// 申请 请退 退货. Any two-character query is then a single term, and a
// longer one a phrase of adjacent bigrams. Each run also ends with its last
// character on its own (退货退款 → 退货 货退 退款 款), so that every
// character of a document begins some token and a one-character query can
// be a prefix match (款*) that finds it wherever it stands. Other text is
// cut into lower-cased words of letters, digits and marks. Everything is
// NFKC-normalised first, so fullwidth ＡＢＣ１２３ is abc123.
//
// Documents and queries go through the same scanner; the engines see
// space-separated tokens and only split them at the spaces (SQLite's
// unicode61 and PostgreSQL's 'simple' configuration treat our tokens as
// single words), so both engines agree with each other and with Go.

// token is one token with the byte span of the source text it came from,
// so snippets can highlight the original characters.
type token struct {
	text       string
	start, end int
	cjk        bool
	last       bool // the trailing single character of a CJK run
	firstEnd   int  // where the first character of a CJK token ends
}

// scan calls emit for each token of s in order.
func scan(s string, emit func(token)) {
	var word strings.Builder
	wordStart, wordEnd := 0, 0
	type cjkRune struct {
		r          rune
		start, end int
	}
	var run []cjkRune
	flushWord := func() {
		if word.Len() > 0 {
			emit(token{text: word.String(), start: wordStart, end: wordEnd})
			word.Reset()
		}
	}
	flushRun := func() {
		for i := 0; i+1 < len(run); i++ {
			emit(token{text: string([]rune{run[i].r, run[i+1].r}), start: run[i].start, end: run[i+1].end, cjk: true, firstEnd: run[i].end})
		}
		if n := len(run); n > 0 {
			emit(token{text: string(run[n-1].r), start: run[n-1].start, end: run[n-1].end, cjk: true, last: true, firstEnd: run[n-1].end})
		}
		run = run[:0]
	}
	for i := 0; i < len(s); {
		// Normalise one segment (a character with its combining marks) at
		// a time, so every output rune knows which input bytes it came
		// from. ASCII followed by ASCII is its own normal form.
		n := 1
		if s[i] >= utf8.RuneSelf || (i+1 < len(s) && s[i+1] >= utf8.RuneSelf) {
			n = max(1, norm.NFKC.NextBoundaryInString(s[i:], true))
		}
		seg := s[i : i+n]
		if n > 1 || seg[0] >= utf8.RuneSelf {
			seg = norm.NFKC.String(seg)
		}
		for _, r := range seg {
			switch {
			case isCJK(r):
				flushWord()
				run = append(run, cjkRune{r, i, i + n})
			case unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r):
				flushRun()
				if word.Len() == 0 {
					wordStart = i
				}
				word.WriteRune(unicode.ToLower(r))
				wordEnd = i + n
			default:
				flushWord()
				flushRun()
			}
		}
		i += n
	}
	flushWord()
	flushRun()
}

// isCJK reports whether r is written without spaces between words: Han,
// kana and Hangul, with the marks that extend them (々, ー).
func isCJK(r rune) bool {
	if r < 0x2e80 {
		return false
	}
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul) || r == 'ー' || r == '々'
}

// maxTokenBytes bounds the tokens stored for one document. A tsvector
// holds at most 1 MB and a message may be 1 MB of text; what is searched
// for is nearly always near the start.
const maxTokenBytes = 100_000

// Tokens returns the space-separated tokens of a document, as stored in
// search_docs.tokens.
func Tokens(texts ...string) string {
	var b strings.Builder
	for _, text := range texts {
		scan(text, func(t token) {
			if b.Len()+len(t.text)+1 > maxTokenBytes {
				return
			}
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(t.text)
		})
	}
	return b.String()
}

// Term is one condition of a query: the phrase of adjacent tokens must
// occur in a document; Prefix makes the last token match any token that
// starts with it.
type Term struct {
	Tokens []string
	Prefix bool
}

// maxTerms bounds the work one query can ask of the engine.
const maxTerms = 16

// ParseQuery turns what a user typed into terms, all of which must match.
// Each word is a term and each CJK run a phrase of its bigrams (the trailing
// characters documents carry are left out: the bigrams already cover
// them). A lone CJK character, or a word typed with a trailing *, matches
// as a prefix.
func ParseQuery(q string) []Term {
	var terms []Term
	var phrase []string
	flush := func(prefix bool) {
		if len(phrase) > 0 && len(terms) < maxTerms {
			terms = append(terms, Term{Tokens: phrase, Prefix: prefix})
		}
		phrase = nil
	}
	scan(q, func(t token) {
		switch {
		case !t.cjk:
			flush(false)
			phrase = []string{t.text}
			flush(strings.HasPrefix(q[t.end:], "*"))
		case t.last:
			if len(phrase) == 0 { // a run of one character
				phrase = []string{t.text}
				flush(true)
			}
			flush(false)
		default:
			phrase = append(phrase, t.text)
		}
	})
	flush(false)
	return terms
}

// span is a byte range of a text that matched a query.
type span struct{ start, end int }

// matches returns the spans of text matching any of terms' tokens, merged
// where they overlap, in order. It is for highlighting, so each token is
// matched on its own rather than as part of its phrase.
func matches(text string, terms []Term) []span {
	var out []span
	scan(text, func(t token) {
		for _, term := range terms {
			for i, q := range term.Tokens {
				end := t.end
				switch {
				case t.text == q:
				case term.Prefix && i == len(term.Tokens)-1 && strings.HasPrefix(t.text, q):
					if t.cjk && utf8.RuneCountInString(q) == 1 {
						end = t.firstEnd // 退 in 退货: mark the one character
					}
				default:
					continue
				}
				if n := len(out); n > 0 && t.start <= out[n-1].end {
					out[n-1].end = max(out[n-1].end, end)
				} else {
					out = append(out, span{t.start, end})
				}
				return
			}
		}
	})
	return out
}
