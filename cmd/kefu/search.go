package main

import (
	"context"
	"fmt"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/search"
)

// SearchCmd holds the search index tools.
type SearchCmd struct {
	Reindex SearchReindexCmd `cmd:"" help:"Rebuild the search index from tickets, messages and customers: after upgrading a store that already holds data, or after imports that bypass Kefu. Safe while Kefu runs."`
}

// SearchReindexCmd rebuilds the search index.
type SearchReindexCmd struct {
	StoreConfig `embed:""`
}

// Run reindexes in batches and reports how many documents it wrote.
func (c *SearchReindexCmd) Run(ctx context.Context) error {
	db, err := database.Open(ctx, c.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return err
	}
	started := time.Now()
	n, err := search.New(db).Reindex(kefu.WithActor(ctx, kefu.System))
	if err != nil {
		return err
	}
	fmt.Printf("indexed %d documents in %s\n", n, time.Since(started).Round(time.Millisecond))
	return nil
}
