package search

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Snippet widths in characters: a subject is shown whole up to a line,
// a message as an excerpt around its first match.
const (
	subjectWidth = 120
	excerptWidth = 80
	// lead is how much text before the first match an excerpt keeps, so
	// the match is seen in its sentence.
	lead = 20
)

// snippet cuts text to about width characters around the first match of
// terms and splits it into fragments, the matching ones marked. Runs of
// white space become one space; a cut end gets an ellipsis.
func snippet(text string, terms []Term, width int) []Fragment {
	spans := matches(text, terms)
	from := 0
	if len(spans) > 0 {
		from = backRunes(text, spans[0].start, min(lead, width/4))
		if utf8.RuneCountInString(text[from:]) < width {
			// Near the end: show more before instead of less in all.
			from = backRunes(text, len(text), width)
		}
	}
	to := len(text)
	for i, n := from, 0; i < len(text); n++ {
		if n == width {
			to = i
			break
		}
		_, size := utf8.DecodeRuneInString(text[i:])
		i += size
	}
	var out []Fragment
	add := func(s string, match bool) {
		s = squash(s)
		if s == "" {
			return
		}
		if n := len(out); n > 0 && out[n-1].Match == match {
			out[n-1].Text += s
			return
		}
		out = append(out, Fragment{Text: s, Match: match})
	}
	if from > 0 {
		add("…", false)
	}
	at := from
	for _, sp := range spans {
		if sp.end <= from || sp.start >= to {
			continue
		}
		start, end := max(sp.start, from), min(sp.end, to)
		add(text[at:start], false)
		add(text[start:end], true)
		at = end
	}
	add(text[at:to], false)
	if to < len(text) {
		add("…", false)
	}
	if out == nil {
		return []Fragment{}
	}
	out[0].Text = strings.TrimLeftFunc(out[0].Text, unicode.IsSpace)
	out[len(out)-1].Text = strings.TrimRightFunc(out[len(out)-1].Text, unicode.IsSpace)
	return out
}

// backRunes returns the byte offset n runes before end (or 0).
func backRunes(s string, end, n int) int {
	for ; n > 0 && end > 0; n-- {
		_, size := utf8.DecodeLastRuneInString(s[:end])
		end -= size
	}
	return end
}

// squash replaces each run of white space with one space.
func squash(s string) string {
	if !strings.ContainsFunc(s, unicode.IsSpace) {
		return s
	}
	var b strings.Builder
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	if space {
		b.WriteByte(' ')
	}
	return b.String()
}
