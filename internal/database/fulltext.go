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

// TextMatch is SQL that selects the rows of search_docs, aliased d, of
// one kind that match a query rendered by Dialect.TextQuery.
type TextMatch struct {
	From  string // what the FROM clause names instead of "search_docs d"
	Where string // the conditions that a row is of the kind and matches
	Rank  string // sorts better matches first, ascending
	// Key sorts matches in the order they were first indexed (about the
	// order the things were created), descending for newest first, and
	// continues a page after a key seen. It is search_docs.id.
	Key string
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

// The kind is a column of the FTS5 index, so FTS5 intersects it with the
// terms itself. bm25 is smaller for better matches; the kind column
// weighs nothing. Newest first orders by the FTS5 rowid (search_docs.id),
// which FTS5 walks backwards, stopping at the LIMIT instead of sorting
// every match.
func (sqliteDialect) TextMatch(query int, kind string) TextMatch {
	checkKind(kind)
	return TextMatch{
		From:  "search_fts JOIN search_docs d ON d.id = search_fts.rowid",
		Where: "search_fts MATCH ('kind:" + kind + " AND tokens:(' || $" + strconv.Itoa(query) + " || ')')",
		Rank:  "bm25(search_fts, 0.0, 1.0)",
		Key:   "search_fts.rowid",
	}
}

// checkKind refuses a kind that could not be written into SQL as it is.
// Kinds are the search package's constants, written literally so that
// PostgreSQL's planner picks the kind's partial index.
func checkKind(kind string) {
	if kind == "" || strings.Trim(kind, "abcdefghijklmnopqrstuvwxyz_") != "" {
		panic("database: search kind " + strconv.Quote(kind))
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

// Each kind has its own partial GIN index, which the literal kind
// selects. The subquery is a fence (OFFSET 0): left to itself the planner
// may walk the primary key backwards for newest first, testing each row
// until enough match, which is quick for a term in recent rows and a scan
// of the whole table for one that is not. Through the fence the GIN index
// finds every match, a cost that grows with the matches, never the table;
// sorted newest first inside it, a join for the visibility rule runs as a
// nested loop that stops at the LIMIT (20 ms instead of 116 ms for an
// agent over 9,000 matches) rather than a hash join over every match.
// ts_rank is larger for better matches, hence negated.
func (postgresDialect) TextMatch(query int, kind string) TextMatch {
	checkKind(kind)
	q := "to_tsquery('simple', $" + strconv.Itoa(query) + ")"
	return TextMatch{
		From: "(SELECT id, entity_id, tsv FROM search_docs WHERE kind = '" + kind + "' AND tsv @@ " + q +
			" ORDER BY id DESC OFFSET 0) d",
		Where: "true",
		Rank:  "-ts_rank(d.tsv, " + q + ")",
		Key:   "d.id",
	}
}
