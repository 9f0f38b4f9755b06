// Package database opens Kefu's store on SQLite or PostgreSQL, runs the
// embedded migrations and hides the few real dialect differences behind
// Dialect. Everything above it writes one SQL code path in the common subset
// of both engines, with $N placeholders.
package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers "sqlite"
)

// Querier is what both *sql.DB and *sql.Tx offer; stores take it so one
// query function serves inside and outside a transaction.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// DB is an open store. Writes go through Write; reads that need not see a
// transaction's own writes go through Read. On SQLite they are different
// pools (one writer connection, several readers, so readers never wait for
// the writer under WAL); on PostgreSQL they are the same pool.
type DB struct {
	Write   *sql.DB
	Read    *sql.DB
	Dialect Dialect
	// URL is the location the store was opened from, with any password
	// removed, for logs.
	URL string

	afterCommit sync.Map // *sql.Tx → *[]func()
	atCommit    sync.Map // *sql.Tx → *pending
	group       *group   // SQLite: write transactions commit in groups
	checkpoints *checkpointer
}

// AfterCommit runs fn once tx has committed, and never if it rolls back:
// the place to publish events about a change, so nobody hears of a change
// that did not happen. tx must come from InTx.
func (db *DB) AfterCommit(tx *sql.Tx, fn func()) {
	if m := db.group.turn(tx); m != nil {
		m.after = append(m.after, fn)
		return
	}
	v, _ := db.afterCommit.LoadOrStore(tx, &[]func(){})
	fns := v.(*[]func())
	*fns = append(*fns, fn)
}

// A CommitWriter gathers rows that many changes in a transaction add, and
// writes them with one call when the transaction commits. It is for
// writes whose cost is per statement rather than per row: SQLite's
// full-text index, say, writes a new segment for every statement that
// adds to it, and with group commit (commit.go) one commit holds many
// callers' work. Items of a caller whose work was rolled back are left
// out. Flush must not depend on running before anything else in the
// transaction; its error rolls the transaction back.
type CommitWriter struct {
	Flush func(ctx context.Context, tx *sql.Tx, items []any) error
}

// pending is what a transaction (or one caller's turn in a group) has
// given commit writers, in the order the writers were first used.
type pending struct {
	order []*CommitWriter
	items map[*CommitWriter][]any
}

func (p *pending) add(b *CommitWriter, items []any) {
	if p.items == nil {
		p.items = map[*CommitWriter][]any{}
	}
	if _, ok := p.items[b]; !ok {
		p.order = append(p.order, b)
	}
	p.items[b] = append(p.items[b], items...)
}

// flushBatches runs every writer once, with all its items from all ps.
func flushBatches(ctx context.Context, tx *sql.Tx, ps ...*pending) error {
	var all pending
	for _, p := range ps {
		for _, b := range p.order {
			all.add(b, p.items[b])
		}
	}
	for _, b := range all.order {
		if err := b.Flush(ctx, tx, all.items[b]); err != nil {
			return err
		}
	}
	return nil
}

// WriteAtCommit adds items to w in tx, to be written when tx commits. tx
// must come from InTx.
func (db *DB) WriteAtCommit(tx *sql.Tx, b *CommitWriter, items ...any) {
	if m := db.group.turn(tx); m != nil {
		m.atCommit.add(b, items)
		return
	}
	v, _ := db.atCommit.LoadOrStore(tx, &pending{})
	v.(*pending).add(b, items)
}

// Open opens a store from a SQLite file path (or "sqlite:PATH") or a
// postgres:// URL. It does not migrate; call Migrate.
func Open(ctx context.Context, location string) (*DB, error) {
	switch {
	case strings.HasPrefix(location, "postgres://"), strings.HasPrefix(location, "postgresql://"):
		return openPostgres(ctx, location)
	case location == "":
		return nil, errors.New("database: no location given (a SQLite file path or a postgres:// URL)")
	default:
		return openSQLite(ctx, strings.TrimPrefix(location, "sqlite:"))
	}
}

func openPostgres(ctx context.Context, location string) (*DB, error) {
	cfg, err := pgx.ParseConfig(location)
	if err != nil {
		return nil, fmt.Errorf("database: open postgres: %w", err)
	}
	db := sql.OpenDB(pgConnector{stdlib.GetConnector(*cfg)})
	// Enough connections to keep both cores busy while some wait on I/O;
	// several instances share one server, so stay modest.
	db.SetMaxOpenConns(4 * runtime.GOMAXPROCS(0))
	db.SetMaxIdleConns(4 * runtime.GOMAXPROCS(0))
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("database: connect to postgres: %w", err)
	}
	return &DB{Write: db, Read: db, Dialect: postgresDialect{}, URL: redact(location)}, nil
}

// busyTimeout is how long the writer and the readers wait for a lock
// another connection holds.
const busyTimeout = 10 * time.Second

func openSQLite(ctx context.Context, path string) (*DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("database: %w", err)
		}
	}
	// Pragmas go in the DSN so every pooled connection gets them.
	// synchronous=NORMAL is safe with WAL (a power cut may lose the last
	// transactions, never corrupt the file).
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)" +
		"&_pragma=synchronous(NORMAL)&_time_format=sqlite&_txlock=immediate"
	busy := func(d time.Duration) string {
		return "&_pragma=busy_timeout(" + strconv.FormatInt(d.Milliseconds(), 10) + ")"
	}
	// The writer's statements ignore cancellation: SQLite answers an
	// interrupted write inside a transaction by rolling back the whole
	// transaction, which, with group commit, holds other callers' work.
	// Group commit keeps each caller's work in a savepoint, whose undo
	// journal belongs in memory (temp_store), and keeps a group's pages
	// in the page cache until the commit (cache_size, in KiB: 8 MiB holds
	// a full group's; more costs every commit a longer scan of the cache,
	// which SQLite trims to the database's size).
	// Checkpoints (copying the WAL back into the database file, with an
	// fsync) run beside the writer (checkpointer), not inside whichever
	// commit crosses the WAL's size limit, so commits stay short.
	w := sql.OpenDB(stmtCacheConnector{driver: sqliteDriver(), dsn: dsn + busy(busyTimeout) +
		"&_pragma=temp_store(MEMORY)&_pragma=cache_size(-8192)&_pragma=wal_autocheckpoint(0)" +
		"&_pragma=journal_size_limit(" + strconv.Itoa(walLimit) + ")", uncancellable: true})
	// SQLite allows one writer at a time; one connection makes writers
	// queue in Go instead of failing with SQLITE_BUSY.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("database: open sqlite %s: %w", path, err)
	}
	r := sql.OpenDB(stmtCacheConnector{driver: sqliteDriver(), dsn: dsn + busy(busyTimeout) + "&_pragma=query_only(1)"})
	n := max(4, runtime.GOMAXPROCS(0)*2)
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	// The checkpoints' one connection runs them one at a time (SQLite
	// fails a second one at once), and waits restartWait at most for
	// readers (group.restartWAL).
	c := sql.OpenDB(stmtCacheConnector{driver: sqliteDriver(), dsn: dsn + busy(restartWait)})
	c.SetMaxOpenConns(1)
	db := &DB{Write: w, Read: r, Dialect: sqliteDialect{}, URL: path, group: &group{db: w, checkpoints: c}}
	db.checkpoints = startCheckpointer(c, db.group.wantRestart)
	return db, nil
}

// Close closes both pools.
func (db *DB) Close() error {
	if db.checkpoints != nil {
		db.checkpoints.stop()
	}
	err := db.Write.Close()
	if db.Read != db.Write {
		err = errors.Join(err, db.Read.Close())
	}
	return err
}

// InTx runs fn in a write transaction and commits if fn returns nil. A
// panic or error rolls back, so a rejected request changes nothing. On
// SQLite, fn's work may share its commit with other callers' (see
// commit.go); InTx returns once that commit is done.
func (db *DB) InTx(ctx context.Context, fn func(tx *sql.Tx) error) (err error) {
	if db.group != nil {
		return db.group.run(ctx, fn)
	}
	tx, err := db.Write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("database: begin: %w", err)
	}
	defer func() {
		db.atCommit.Delete(tx)
		v, _ := db.afterCommit.LoadAndDelete(tx)
		if p := recover(); p != nil {
			tx.Rollback()
			panic(p)
		}
		if err != nil {
			tx.Rollback()
			return
		}
		if v != nil {
			for _, f := range *v.(*[]func()) {
				f()
			}
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if v, ok := db.atCommit.Load(tx); ok {
		if err = flushBatches(ctx, tx, v.(*pending)); err != nil {
			return err
		}
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("database: commit: %w", err)
	}
	return nil
}

func redact(location string) string {
	u, err := url.Parse(location)
	if err != nil {
		return "postgres://…"
	}
	return u.Redacted()
}
