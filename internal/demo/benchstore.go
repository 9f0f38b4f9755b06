package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/customer"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/team"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// BenchStore fills db, an empty migrated store, with the seed departments
// and staff and n bulk tickets, and returns at once when it already holds
// n tickets: benchmarks over a large store keep it between runs instead of
// paying minutes to rebuild it. A store holding any other number of
// tickets (a build that was interrupted) is refused; the caller removes it.
func BenchStore(ctx context.Context, db *database.DB, n int, now time.Time, progress func(done int)) error {
	var have int
	if err := db.Read.QueryRowContext(ctx, `SELECT count(*) FROM tickets`).Scan(&have); err != nil {
		return fmt.Errorf("demo: bench store: %w", err)
	}
	switch {
	case have == n:
		return nil
	case have != 0:
		return fmt.Errorf("demo: bench store %s holds %d tickets, want %d: remove it to rebuild", db.URL, have, n)
	}
	ctx = kefu.WithActor(ctx, kefu.System)
	clock := func() time.Time { return now }
	cs := &customer.Service{DB: db, Now: clock}
	svc := Services{Team: &team.Service{DB: db, Now: clock}, Customers: cs, Tickets: &ticket.Service{DB: db, Now: clock, Customers: cs}}
	if _, err := Seed(ctx, svc, now, 0, 1); err != nil {
		return err
	}
	if err := Bulk(ctx, db, n, now, 1, progress); err != nil {
		return err
	}
	// Fresh statistics, so the planners choose as they would on a store
	// that grew to this size.
	_, err := db.Write.ExecContext(ctx, `ANALYZE`)
	return err
}
