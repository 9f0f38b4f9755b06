package database

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// Each engine has its own folder with the same version numbers, so a
// schema change is one version written twice and compared by a test.
//
//go:embed migrations
var migrations embed.FS

func (db *DB) provider(opts ...goose.ProviderOption) (*goose.Provider, error) {
	sub, err := fs.Sub(migrations, "migrations/"+db.Dialect.Name())
	if err != nil {
		return nil, err
	}
	dialect := goose.DialectSQLite3
	if db.Dialect.Name() == "postgres" {
		dialect = goose.DialectPostgres
	}
	return goose.NewProvider(dialect, db.Write, sub, opts...)
}

// MigrationLock is the PostgreSQL advisory lock (its key, as pg_locks
// shows it) that the instances of this store take to migrate it.
// Advisory locks are database-wide, so it is derived from the store's
// schema: stores in other schemas of the same database (staging, tests)
// migrate without waiting for each other.
func (db *DB) MigrationLock(ctx context.Context) (int64, error) {
	var schema string
	if err := db.Write.QueryRowContext(ctx, `SELECT COALESCE(current_schema(), '')`).Scan(&schema); err != nil {
		return 0, fmt.Errorf("database: schema: %w", err)
	}
	h := fnv.New64a()
	h.Write([]byte("kefu migrate " + schema))
	return int64(h.Sum64()), nil
}

// Migrate brings the schema to the newest version and returns it.
func (db *DB) Migrate(ctx context.Context) (int64, error) {
	var opts []goose.ProviderOption
	if db.Dialect.Name() == "postgres" {
		// Several instances may start at once; one migrates, the others
		// wait for it, trying again every second for five minutes.
		id, err := db.MigrationLock(ctx)
		if err != nil {
			return 0, err
		}
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(id), lock.WithLockTimeout(1, 300))
		if err != nil {
			return 0, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := db.provider(opts...)
	if err != nil {
		return 0, fmt.Errorf("database: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return 0, fmt.Errorf("database: migrate: %w", err)
	}
	return p.GetDBVersion(ctx)
}

// SchemaVersion returns the applied version and the newest one shipped.
func (db *DB) SchemaVersion(ctx context.Context) (current, latest int64, err error) {
	p, err := db.provider()
	if err != nil {
		return 0, 0, err
	}
	current, err = p.GetDBVersion(ctx)
	if err != nil {
		return 0, 0, err
	}
	sources := p.ListSources()
	if len(sources) > 0 {
		latest = sources[len(sources)-1].Version
	}
	return current, latest, nil
}

// SchemaDigest is a short hash of the migrations shipped for engine
// ("sqlite" or "postgres"). Caches of built stores, such as benchmark
// fixtures, are named after it so that a schema change rebuilds them.
func SchemaDigest(engine string) string {
	h := sha256.New()
	fs.WalkDir(migrations, "migrations/"+engine, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := migrations.ReadFile(path)
			h.Write([]byte(path))
			h.Write(b)
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:8]
}
