package main

import (
	"context"
	"fmt"

	"github.com/kefu-desk/kefu/internal/database"
)

// MigrateCmd brings the schema up to date and reports the version.
type MigrateCmd struct {
	StoreConfig `embed:""`
}

// Run migrates.
func (c *MigrateCmd) Run(ctx context.Context) error {
	db, err := database.Open(ctx, c.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	v, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("schema at version %d (%s)\n", v, db.Dialect.Name())
	return nil
}
