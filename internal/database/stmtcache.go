package database

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"strings"
)

// SQLite parses and plans a statement each time it is prepared, and
// database/sql prepares every ExecContext and QueryContext afresh: that
// was a quarter of the CPU of creating a ticket, and on SQLite's single
// writer connection that time is serialised. So each SQLite connection
// keeps its statements prepared, keyed by query text, below database/sql.

// maxCachedStmts bounds the statements a connection keeps; list queries
// with many filter combinations would otherwise grow it without end.
const maxCachedStmts = 256

// sqliteConn is what modernc's connection offers and database/sql uses.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// sqliteDriver is the driver registered as "sqlite", so that functions
// registered with modernc's package-level Register calls still apply.
func sqliteDriver() driver.Driver {
	db, _ := sql.Open("sqlite", "") // connects to nothing
	defer db.Close()
	return db.Driver()
}

// stmtCacheConnector opens SQLite connections that cache statements.
type stmtCacheConnector struct {
	driver        driver.Driver
	dsn           string
	uncancellable bool // statements run to the end whatever their context
}

func (c stmtCacheConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.driver.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	sc, ok := conn.(sqliteConn)
	if !ok {
		conn.Close()
		return nil, errors.New("database: the sqlite driver's connection lacks an expected method")
	}
	return &cachingConn{sqliteConn: sc, stmts: map[string]*cachedStmt{}, uncancellable: c.uncancellable}, nil
}

func (c stmtCacheConnector) Driver() driver.Driver { return c.driver }

// cachingConn is a connection with its prepared statements. database/sql
// uses a connection from one goroutine at a time, so it needs no lock.
type cachingConn struct {
	sqliteConn
	stmts         map[string]*cachedStmt
	uncancellable bool
}

type cachedStmt struct {
	stmt interface {
		driver.Stmt
		driver.StmtExecContext
		driver.StmtQueryContext
	}
	busy    bool // rows read from it are still open
	evicted bool // dropped from the cache while busy: close with its rows
}

// cached returns the prepared statement for query, or nil where the query
// must go the ordinary way: several statements in one string (scripts,
// migrations), or a statement whose rows are still being read.
func (c *cachingConn) cached(ctx context.Context, query string) (*cachedStmt, error) {
	if cs, ok := c.stmts[query]; ok {
		if cs.busy {
			return nil, nil
		}
		return cs, nil
	}
	if strings.Contains(query, ";") {
		return nil, nil
	}
	s, err := c.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	st, ok := s.(interface {
		driver.Stmt
		driver.StmtExecContext
		driver.StmtQueryContext
	})
	if !ok {
		s.Close()
		return nil, nil
	}
	if len(c.stmts) >= maxCachedStmts {
		c.closeStmts()
	}
	cs := &cachedStmt{stmt: st}
	c.stmts[query] = cs
	return cs, nil
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if c.uncancellable {
		ctx = context.WithoutCancel(ctx)
	}
	cs, err := c.cached(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.sqliteConn.ExecContext(ctx, query, args)
	}
	return cs.stmt.ExecContext(ctx, args)
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if c.uncancellable {
		ctx = context.WithoutCancel(ctx)
	}
	cs, err := c.cached(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.sqliteConn.QueryContext(ctx, query, args)
	}
	rows, err := cs.stmt.QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	cs.busy = true
	return &cachedRows{Rows: rows, stmt: cs}, nil
}

func (c *cachingConn) closeStmts() {
	for q, cs := range c.stmts {
		if cs.busy {
			cs.evicted = true
		} else {
			cs.stmt.Close()
		}
		delete(c.stmts, q)
	}
}

func (c *cachingConn) Close() error {
	c.closeStmts()
	return c.sqliteConn.Close()
}

// cachedRows frees its statement for the next use when closed.
type cachedRows struct {
	driver.Rows
	stmt *cachedStmt
}

func (r *cachedRows) Close() error {
	r.stmt.busy = false
	err := r.Rows.Close()
	if r.stmt.evicted {
		err = errors.Join(err, r.stmt.stmt.Close())
	}
	return err
}
