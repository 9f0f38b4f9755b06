package database

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Listen opens a PostgreSQL connection of its own, outside the pool, and
// LISTENs on channel: it will sit in WaitForNotification for the life of
// the process, which a pooled connection must not. The caller closes it.
func (db *DB) Listen(ctx context.Context, channel string) (*pgx.Conn, error) {
	if db.Dialect.Name() != "postgres" {
		return nil, errors.New("database: LISTEN needs PostgreSQL")
	}
	cfg, err := db.connConfig(ctx)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("database: listen: connect: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("database: listen %s: %w", channel, err)
	}
	return conn, nil
}

// connConfig copies a pooled connection's configuration, which has the
// credentials (DB.URL has them redacted) and the search_path.
func (db *DB) connConfig(ctx context.Context) (*pgx.ConnConfig, error) {
	c, err := db.Write.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("database: listen: %w", err)
	}
	defer c.Close()
	var cfg *pgx.ConnConfig
	err = c.Raw(func(driverConn any) error {
		pc, ok := driverConn.(*pgConn)
		if !ok {
			return fmt.Errorf("database: unexpected driver connection %T", driverConn)
		}
		cfg = pc.Conn.Conn().Config().Copy()
		// The pooled connection's notification handler comes along with
		// the copy; left in place it would take every notification away
		// from WaitForNotification and pile them up unread.
		cfg.OnNotification = nil
		return nil
	})
	return cfg, err
}
