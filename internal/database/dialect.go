package database

import (
	"errors"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect holds the few places where SQLite and PostgreSQL really differ.
// Everything else is written once.
type Dialect interface {
	// Name is "sqlite" or "postgres".
	Name() string
	// IsUniqueViolation reports whether err is a unique-constraint failure,
	// so stores can turn it into a Conflict the user understands.
	IsUniqueViolation(err error) bool
	// IsForeignKeyViolation reports whether err is a foreign-key failure.
	IsForeignKeyViolation(err error) bool
	// SkipLocked is appended to a SELECT that claims rows for a worker.
	// SQLite has a single writer, so there is nothing to skip.
	SkipLocked() string
	// NextTicketNumber is a query returning the next ticket number, run
	// inside the creating transaction. SQLite has one writer, so the
	// highest number in use plus one is safe there; on PostgreSQL that
	// would hand concurrent creates the same number, and a counter row's
	// lock would serialise them, so a SEQUENCE hands numbers out instead
	// (a create that rolls back leaves a gap in the numbers).
	NextTicketNumber() string
	// SetTicketNumber is a statement recording $1 as the last ticket
	// number used, for imports that write numbers themselves.
	SetTicketNumber() string
	// TextQuery renders full-text terms, all of which must match, in the
	// engine's query syntax (FTS5 or tsquery), for TextMatch's argument.
	TextQuery(terms []TextTerm) string
	// TextMatch selects the search_docs of kind (a lower-case word) that
	// match the query bound as $query: FTS5 on SQLite, a GIN-indexed
	// tsvector on PostgreSQL.
	TextMatch(query int, kind string) TextMatch
}

type sqliteDialect struct{}

func (sqliteDialect) Name() string { return "sqlite" }

func (sqliteDialect) IsUniqueViolation(err error) bool {
	var e *msqlite.Error
	return errors.As(err, &e) && (e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

func (sqliteDialect) IsForeignKeyViolation(err error) bool {
	var e *msqlite.Error
	return errors.As(err, &e) && e.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

func (sqliteDialect) SkipLocked() string { return "" }

// NextTicketNumber on SQLite reads the highest number in use (the
// number index's last entry) instead of counting in a row: the one writer
// makes that safe, and a create then writes no counter page. Tickets are
// never deleted; the counters row still counts for numbers that imports
// reserve (SetTicketNumber).
func (sqliteDialect) NextTicketNumber() string {
	return `SELECT max(COALESCE((SELECT max(number) FROM tickets), 10000),
		COALESCE((SELECT value FROM counters WHERE name = 'ticket'), 10000)) + 1`
}

func (sqliteDialect) SetTicketNumber() string {
	return `INSERT INTO counters (name, value) VALUES ('ticket', $1) ON CONFLICT (name) DO UPDATE SET value = $1`
}

type postgresDialect struct{}

func (postgresDialect) Name() string { return "postgres" }

func (postgresDialect) IsUniqueViolation(err error) bool { return pgCode(err) == "23505" }

func (postgresDialect) IsForeignKeyViolation(err error) bool { return pgCode(err) == "23503" }

func (postgresDialect) SkipLocked() string { return " FOR UPDATE SKIP LOCKED" }

func (postgresDialect) NextTicketNumber() string { return `SELECT nextval('ticket_number')` }

func (postgresDialect) SetTicketNumber() string {
	return `SELECT setval('ticket_number', CAST($1 AS bigint))`
}

func pgCode(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// Placeholders returns "$from, $from+1, …" for n arguments, for IN lists.
func Placeholders(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(from + i))
	}
	return b.String()
}
