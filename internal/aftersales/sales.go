package aftersales

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/kefu-desk/kefu/internal/calendar"
	"github.com/kefu-desk/kefu/internal/database"
)

// The daily sales rollup (aftersales_sales): what each shop sold per day
// and SKU, the denominators of return rates. A report over a year of a
// million orders then reads a few hundred thousand rows rather than
// joining millions of order lines.

const (
	// salesOverlap re-reads the orders changed this long before the last
	// refresh, so a write that committed late is not missed.
	salesOverlap = 5 * time.Minute
	// salesRebuildEvery sums each shop's whole history again: an order
	// whose date was changed leaves its old day until then.
	salesRebuildEvery = 24 * time.Hour
	// salesChunk is the days one transaction of a rebuild sums, so a
	// large shop never holds SQLite's write lock for long.
	salesChunk = 14
)

// RefreshSales brings every shop's daily sales up to date with its
// orders: the days of orders changed since the last refresh are summed
// again, and a shop's whole history once a day or when its time zone
// changed. Running it twice at once is safe (each day is written whole),
// only wasteful: kefu serve runs it every minute under a cluster lease,
// and the report runs it before reading.
func (s *Service) RefreshSales(ctx context.Context) error {
	rows, err := s.DB.Read.QueryContext(ctx, `SELECT CAST(id AS text), timezone FROM shops ORDER BY code`)
	if err != nil {
		return fmt.Errorf("aftersales: sales: %w", err)
	}
	type shopZone struct{ id, zone string }
	var shops []shopZone
	for rows.Next() {
		var sz shopZone
		if err := rows.Scan(&sz.id, &sz.zone); err != nil {
			rows.Close()
			return err
		}
		shops = append(shops, sz)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, sz := range shops {
		if err := s.refreshShop(ctx, sz.id, sz.zone); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) refreshShop(ctx context.Context, shopID, zone string) error {
	loc, problem := calendar.LoadZone(zone)
	if problem != "" {
		loc = time.UTC
	}
	now := s.Now().UTC()
	var tz string
	var seen, rebuilt time.Time
	err := s.DB.Read.QueryRowContext(ctx, `SELECT timezone, seen_until, rebuilt_at FROM aftersales_sales_state WHERE shop_id = $1`, shopID).Scan(
		&tz, &seen, &rebuilt)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && (tz != zone || now.Sub(rebuilt) >= salesRebuildEvery)) {
		return s.rebuildSales(ctx, shopID, zone, loc, now)
	}
	if err != nil {
		return fmt.Errorf("aftersales: sales state: %w", err)
	}
	rows, err := s.DB.Read.QueryContext(ctx, `SELECT ordered_at, updated_at FROM orders WHERE updated_at > $1 AND shop_id = $2`,
		seen.UTC().Add(-salesOverlap), shopID)
	if err != nil {
		return fmt.Errorf("aftersales: changed orders: %w", err)
	}
	days := map[calendar.Date]bool{}
	last := seen.UTC()
	for rows.Next() {
		var ordered, updated time.Time
		if err := rows.Scan(&ordered, &updated); err != nil {
			rows.Close()
			return err
		}
		days[calendar.DateOf(ordered.In(loc))] = true
		if updated.After(last) {
			last = updated.UTC()
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(days) == 0 {
		return nil
	}
	list := make([]calendar.Date, 0, len(days))
	for d := range days {
		list = append(list, d)
	}
	slices.SortFunc(list, func(a, b calendar.Date) int { return cmpDate(a, b) })
	for chunk := range slices.Chunk(list, salesChunk) {
		err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
			for _, d := range chunk {
				if err := s.sumDays(ctx, tx, shopID, loc, d, d); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return s.saveSalesState(ctx, s.DB.Write, shopID, zone, last, rebuilt)
}

func cmpDate(a, b calendar.Date) int {
	switch {
	case a.Before(b):
		return -1
	case b.Before(a):
		return 1
	}
	return 0
}

// rebuildSales sums a shop's whole history again, a few days per
// transaction.
func (s *Service) rebuildSales(ctx context.Context, shopID, zone string, loc *time.Location, now time.Time) error {
	// Not MIN() and MAX(): SQLite returns an aggregate of timestamps as
	// text. The index on (shop_id, ordered_at) answers both at once.
	var first, last sql.NullTime
	for _, q := range []struct {
		order string
		dst   *sql.NullTime
	}{{"", &first}, {" DESC", &last}} {
		err := s.DB.Read.QueryRowContext(ctx, `SELECT ordered_at FROM orders WHERE shop_id = $1 ORDER BY ordered_at`+q.order+` LIMIT 1`, shopID).Scan(q.dst)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("aftersales: sales range: %w", err)
		}
	}
	if !first.Valid {
		if _, err := s.DB.Write.ExecContext(ctx, `DELETE FROM aftersales_sales WHERE shop_id = $1`, shopID); err != nil {
			return fmt.Errorf("aftersales: sales: %w", err)
		}
		return s.saveSalesState(ctx, s.DB.Write, shopID, zone, now, now)
	}
	from, to := calendar.DateOf(first.Time.In(loc)), calendar.DateOf(last.Time.In(loc))
	for d := from; !to.Before(d); d = d.AddDays(salesChunk) {
		end := d.AddDays(salesChunk - 1)
		if to.Before(end) {
			end = to
		}
		if err := s.DB.InTx(ctx, func(tx *sql.Tx) error { return s.sumDays(ctx, tx, shopID, loc, d, end) }); err != nil {
			return err
		}
	}
	if _, err := s.DB.Write.ExecContext(ctx, `DELETE FROM aftersales_sales WHERE shop_id = $1 AND (day < $2 OR day > $3)`,
		shopID, from.String(), to.String()); err != nil {
		return fmt.Errorf("aftersales: sales: %w", err)
	}
	return s.saveSalesState(ctx, s.DB.Write, shopID, zone, now, now)
}

// sumDays writes the sales of a shop's days from to through to (in loc)
// from its orders, replacing what the rollup had for them.
func (s *Service) sumDays(ctx context.Context, tx *sql.Tx, shopID string, loc *time.Location, from, to calendar.Date) error {
	var days []calendar.Date
	var bounds []any
	for d := from; !to.Before(d); d = d.AddDays(1) {
		days = append(days, d)
		bounds = append(bounds, time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc).UTC())
	}
	after := to.AddDays(1)
	bounds = append(bounds, time.Date(after.Year, after.Month, after.Day, 0, 0, 0, 0, loc).UTC())
	b, bargs := bucket("o.ordered_at", bounds, 3)
	args := append([]any{shopID, bounds[0], bounds[len(bounds)-1]}, bargs...)
	type key struct {
		day int
		sku string
	}
	sums := map[key][2]int{}
	rows, err := tx.QueryContext(ctx, `SELECT `+b+`, count(*) FROM orders o WHERE o.shop_id = $1 AND o.ordered_at >= $2 AND o.ordered_at < $3
		GROUP BY 1`, args...)
	if err != nil {
		return fmt.Errorf("aftersales: sum orders: %w", err)
	}
	for rows.Next() {
		var i, n int
		if err := rows.Scan(&i, &n); err != nil {
			rows.Close()
			return err
		}
		sums[key{i, ""}] = [2]int{n, 0}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	// Only the store's lines were sold: a replacement Kefu added for an
	// exchange (origin 'exchange') is the same sale sent again.
	rows, err = tx.QueryContext(ctx, `SELECT `+b+`, i.sku_code, SUM(i.quantity) FROM orders o JOIN order_items i ON i.order_id = o.id
		WHERE o.shop_id = $1 AND o.ordered_at >= $2 AND o.ordered_at < $3 AND i.origin = 'store' GROUP BY 1, i.sku_code`, args...)
	if err != nil {
		return fmt.Errorf("aftersales: sum units: %w", err)
	}
	for rows.Next() {
		var i, n int
		var sku string
		if err := rows.Scan(&i, &sku, &n); err != nil {
			rows.Close()
			return err
		}
		if sku != "" {
			sums[key{i, sku}] = [2]int{0, n}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM aftersales_sales WHERE shop_id = $1 AND day >= $2 AND day <= $3`, shopID, from.String(), to.String()); err != nil {
		return fmt.Errorf("aftersales: sales: %w", err)
	}
	ins := database.NewBulkInsert(s.DB.Dialect, `aftersales_sales (shop_id, day, sku, orders, units)`, 5).
		OnConflict(`ON CONFLICT (shop_id, day, sku) DO UPDATE SET orders = excluded.orders, units = excluded.units`)
	for k, v := range sums {
		ins.Add(shopID, days[k.day].String(), k.sku, v[0], v[1])
	}
	if err := ins.Exec(ctx, tx); err != nil {
		return fmt.Errorf("aftersales: sales: %w", err)
	}
	return nil
}

func (s *Service) saveSalesState(ctx context.Context, q database.Querier, shopID, zone string, seen, rebuilt time.Time) error {
	_, err := q.ExecContext(ctx, `INSERT INTO aftersales_sales_state (shop_id, timezone, seen_until, rebuilt_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (shop_id) DO UPDATE SET timezone = $2, seen_until = $3, rebuilt_at = $4`, shopID, zone, seen.UTC(), rebuilt.UTC())
	if err != nil {
		return fmt.Errorf("aftersales: sales state: %w", err)
	}
	return nil
}
