package database

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// On PostgreSQL every statement is a network round trip, and the round
// trips, not the statements, are most of what a write costs: creating a
// ticket was some fifteen of them. Most writes in a transaction need no
// answer (an audit row, a message, a search document), so they can wait
// and travel together with the next statement that does need one, or
// with the COMMIT. Deferrable marks such writes; pgConn holds them back.

type deferrableKey struct{}

// Deferrable returns ctx marked so that an ExecContext with it, inside a
// transaction, may be sent later: together with the transaction's next
// statement or its COMMIT, in one round trip. Use it only for writes whose
// result (rows affected) is not read and whose failure can only fail the
// whole transaction; such a failure is reported by the statement it
// travels with, or by Commit. Outside a transaction, and on SQLite (where
// a statement costs no round trip), it changes nothing.
func Deferrable(ctx context.Context) context.Context {
	return context.WithValue(ctx, deferrableKey{}, true)
}

func deferrable(ctx context.Context) bool {
	v, _ := ctx.Value(deferrableKey{}).(bool)
	return v
}

// pgConnector opens pgx connections that defer deferrable writes.
type pgConnector struct{ driver.Connector }

func (c pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	sc, ok := conn.(*stdlib.Conn)
	if !ok {
		conn.Close()
		return nil, errors.New("database: the pgx driver's connection is not a *stdlib.Conn")
	}
	return &pgConn{Conn: sc}, nil
}

// pgConn is a pgx connection with the writes it holds back. database/sql
// uses a connection from one goroutine at a time, so it needs no lock.
type pgConn struct {
	*stdlib.Conn
	tx      *pgTx      // the open transaction, if any
	pending *pgx.Batch // deferred writes of tx, in order
}

func (c *pgConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	inner, err := c.Conn.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	c.tx, c.pending = &pgTx{conn: c, inner: inner, ctx: ctx}, nil
	return c.tx, nil
}

func (c *pgConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if c.tx != nil && deferrable(ctx) {
		if c.pending == nil {
			c.pending = &pgx.Batch{}
		}
		c.pending.Queue(query, values(args)...)
		return deferredResult{}, nil
	}
	if c.pending == nil {
		return c.Conn.ExecContext(ctx, query, args)
	}
	// The held-back writes go first, in the same round trip.
	b := c.take()
	b.Queue(query, values(args)...)
	tags, err := c.send(ctx, b)
	if err != nil {
		return nil, err
	}
	return driver.RowsAffected(tags[len(tags)-1].RowsAffected()), nil
}

func (c *pgConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if c.pending != nil {
		if _, err := c.send(ctx, c.take()); err != nil {
			return nil, err
		}
	}
	return c.Conn.QueryContext(ctx, query, args)
}

func (c *pgConn) ResetSession(ctx context.Context) error {
	c.tx, c.pending = nil, nil
	return c.Conn.ResetSession(ctx)
}

func (c *pgConn) take() *pgx.Batch {
	b := c.pending
	c.pending = nil
	return b
}

// send runs b in one round trip and returns each statement's command tag,
// or the first error.
func (c *pgConn) send(ctx context.Context, b *pgx.Batch) ([]commandTag, error) {
	br := c.Conn.Conn().SendBatch(ctx, b)
	tags := make([]commandTag, 0, b.Len())
	var first error
	for range b.Len() {
		tag, err := br.Exec()
		if err != nil && first == nil {
			first = err
		}
		tags = append(tags, tag)
	}
	if err := br.Close(); err != nil && first == nil {
		first = err
	}
	return tags, first
}

type commandTag = interface {
	RowsAffected() int64
	String() string
}

// pgTx sends the held-back writes with its COMMIT.
type pgTx struct {
	conn  *pgConn
	inner driver.Tx
	ctx   context.Context
}

func (t *pgTx) Commit() error {
	c := t.conn
	c.tx = nil
	if c.pending == nil {
		return t.inner.Commit()
	}
	b := c.take()
	b.Queue("COMMIT")
	tags, err := c.send(t.ctx, b)
	if err == nil && tags[len(tags)-1].String() != "COMMIT" {
		err = errors.New("database: the transaction was rolled back by the server")
	}
	if err != nil {
		// A failed statement leaves the transaction aborted and the
		// COMMIT unsent; end it so the connection is usable again.
		if c.Conn.Conn().PgConn().TxStatus() != 'I' {
			if _, rerr := c.Conn.Conn().Exec(context.Background(), "ROLLBACK"); rerr != nil {
				return errors.Join(err, driver.ErrBadConn)
			}
		}
		return fmt.Errorf("database: commit: %w", err)
	}
	return nil
}

func (t *pgTx) Rollback() error {
	t.conn.tx, t.conn.pending = nil, nil
	return t.inner.Rollback()
}

// deferredResult is the result of a write not yet sent: its count of
// rows is not known.
type deferredResult struct{}

func (deferredResult) LastInsertId() (int64, error) {
	return 0, errors.New("database: LastInsertId is not supported")
}

func (deferredResult) RowsAffected() (int64, error) {
	return 0, errors.New("database: a deferred write's rows affected are not known")
}

func values(args []driver.NamedValue) []any {
	out := make([]any, len(args))
	for i, a := range args {
		out[i] = a.Value
	}
	return out
}
