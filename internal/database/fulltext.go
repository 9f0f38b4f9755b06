package database

import (
	"strconv"
	"strings"
)

// TextTerm is one condition of a full-text query: a phrase of adjacent
// tokens, the last of which matches as a prefix when Prefix is set. The
// tokens come from internal/search's tokenizer: lower-case letters,
// digits and marks, never spaces or quotes.
type TextTerm struct {
	Tokens []string
	Prefix bool
}

// TextMatch is SQL that matches rows of search_docs, aliased d, against a
// query rendered by Dialect.TextQuery and bound as one argument.
type TextMatch struct {
	From  string // what the FROM clause names instead of "search_docs d"
	Where string // the condition that a row matches
	Rank  string // sorts better matches first, ascending
}

// FTS5 query syntax: a quoted phrase per term, * after it for a prefix,
// terms side by side for AND.
func (sqliteDialect) TextQuery(terms []TextTerm) string {
	parts := make([]string, len(terms))
	for i, t := range terms {
		parts[i] = `"` + strings.ReplaceAll(strings.Join(t.Tokens, " "), `"`, `""`) + `"`
		if t.Prefix {
			parts[i] += "*"
		}
	}
	return strings.Join(parts, " ")
}

// bm25 is smaller for better matches. The external-content FTS5 table is
// joined on its rowid, which is search_docs.id.
func (sqliteDialect) TextMatch(arg int) TextMatch {
	p := "$" + strconv.Itoa(arg)
	return TextMatch{
		From:  "search_fts JOIN search_docs d ON d.id = search_fts.rowid",
		Where: "search_fts MATCH " + p,
		Rank:  "bm25(search_fts)",
	}
}

// tsquery syntax: quoted lexemes joined by <-> within a phrase, :* for a
// prefix, & between terms.
func (postgresDialect) TextQuery(terms []TextTerm) string {
	parts := make([]string, len(terms))
	for i, t := range terms {
		lex := make([]string, len(t.Tokens))
		for j, tok := range t.Tokens {
			lex[j] = "'" + strings.NewReplacer(`'`, `''`, `\`, `\\`).Replace(tok) + "'"
		}
		if t.Prefix {
			lex[len(lex)-1] += ":*"
		}
		parts[i] = "(" + strings.Join(lex, " <-> ") + ")"
	}
	return strings.Join(parts, " & ")
}

// The expression is the one search_docs_tokens indexes, so the GIN index
// serves the match; ts_rank is larger for better matches, hence negated.
func (postgresDialect) TextMatch(arg int) TextMatch {
	q := "to_tsquery('simple', $" + strconv.Itoa(arg) + ")"
	return TextMatch{
		From:  "search_docs d",
		Where: "to_tsvector('simple', d.tokens) @@ " + q,
		Rank:  "-ts_rank(to_tsvector('simple', d.tokens), " + q + ")",
	}
}
