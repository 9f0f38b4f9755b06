package demo

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/database"
)

// benchSuppliers make the clothing the after-sales bench store sells.
var benchSuppliers = []string{"杭州织造", "广州制衣", "Tianhe Textiles", "绍兴丝绸", "Shenzhen Garments", "青岛针织", "苏州刺绣",
	"Ningbo Knitwear", "厦门鞋业", "东莞皮具", "Wuxi Cotton", "佛山内衣"}

// benchReasons are the seeded reasons a bulk case gives, by kind.
var benchReasons = map[string][]string{
	"return":      {"quality_defect", "wrong_size", "wrong_size", "not_as_described", "changed_mind", "damaged_in_transport", "wrong_item"},
	"exchange":    {"wrong_size", "wrong_size", "quality_defect", "wrong_item"},
	"refund_only": {"not_received", "late_delivery", "billing_error", "changed_mind"},
	"repair":      {"quality_defect"},
	"complaint":   {"service_attitude", "late_delivery", "quality_defect", "billing_error"},
}

// AftersalesBench fills db, an empty migrated store, with one clothing
// shop (60 products in 300 SKUs from 12 suppliers), nOrders delivered
// orders of one to three items over the year before now from nOrders/10
// customers, and nCases after-sales cases on them, each on its own
// ticket, across every kind and reason, with inspections, refunds,
// repairs and complaints that were resolved: the store the report
// benchmarks read. It writes with multi-row INSERTs, bypassing the
// services, and returns at once when the store holds nOrders orders
// already; a store holding another number is refused (remove it).
func AftersalesBench(ctx context.Context, db *database.DB, nOrders, nCases int, now time.Time, progress func(what string, done int)) error {
	var have int
	if err := db.Read.QueryRowContext(ctx, `SELECT count(*) FROM orders`).Scan(&have); err != nil {
		return fmt.Errorf("demo: after-sales bench: %w", err)
	}
	switch {
	case have == nOrders:
		return nil
	case have != 0:
		return fmt.Errorf("demo: after-sales bench store %s holds %d orders, want %d: remove it to rebuild", db.URL, have, nOrders)
	}
	if progress == nil {
		progress = func(string, int) {}
	}
	// Timestamps are stored in UTC (SQLite compares them as text).
	now = now.UTC()
	rng := rand.New(rand.NewPCG(11, 13))
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return err
	}
	span := 365 * 24 * time.Hour
	first := now.Add(-span)
	shopID := kefu.NewID()
	type sku struct {
		code     string
		price    int64
		product  int
		supplier string
	}
	var skus []sku
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO shops (id, code, name, timezone, currency, language, webhook_secret, created_at, updated_at)
			VALUES ($1, 'bench', 'Tianhe Xinmeng', 'Asia/Shanghai', 'CNY', 'zh-CN', 'kfwh_bench', $2, $2)`, shopID, first); err != nil {
			return err
		}
		products := database.NewBulkInsert(db.Dialect, `products (id, shop_id, code, name, supplier, category, created_at, updated_at)`, 8)
		rows := database.NewBulkInsert(db.Dialect, `skus (id, product_id, shop_id, code, size, price_minor, stock_status, position, created_at, updated_at)`, 10)
		for p := range 60 {
			id := kefu.NewID()
			products.Add(id, shopID, fmt.Sprintf("P%03d", p), pick(rng, benchProducts), benchSuppliers[p%len(benchSuppliers)], "apparel", first, first)
			price := int64(9900 + rng.IntN(40)*1000)
			for i, size := range []string{"S", "M", "L", "XL", "XXL"} {
				code := fmt.Sprintf("P%03d-%s", p, size)
				skus = append(skus, sku{code, price, p, benchSuppliers[p%len(benchSuppliers)]})
				rows.Add(kefu.NewID(), id, shopID, code, size, price, "in_stock", i, first, first)
			}
		}
		return database.ExecBulk(ctx, tx, products, rows)
	})
	if err != nil {
		return fmt.Errorf("demo: after-sales bench catalogue: %w", err)
	}
	nCust := max(1, nOrders/10)
	custIDs := make([]string, nCust)
	for done := 0; done < nCust; {
		k := min(bulkRows*5, nCust-done)
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			cust := database.NewBulkInsert(db.Dialect, "customers (id, name, language, created_at, updated_at)", 5)
			for i := range k {
				custIDs[done+i] = kefu.NewID()
				cust.Add(custIDs[done+i], pick(rng, surnames)+pick(rng, givenNames), "zh-CN", first, first)
			}
			return cust.Exec(ctx, tx)
		})
		if err != nil {
			return fmt.Errorf("demo: after-sales bench customers: %w", err)
		}
		done += k
	}
	// The orders a case is opened on: every stride-th order, roughly.
	type orderRef struct {
		id, customer string
		at           time.Time
		item         string
		sku          sku
	}
	stride := max(1, nOrders/max(1, nCases))
	var onCase []orderRef
	for done := 0; done < nOrders; {
		k := min(bulkRows*10, nOrders-done)
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			orders := database.NewBulkInsert(db.Dialect, `orders (id, shop_id, number, customer_id, status, currency, total_minor, paid_minor,
				payment_method, ordered_at, delivered_at, created_at, updated_at)`, 13)
			items := database.NewBulkInsert(db.Dialect, `order_items (id, order_id, position, sku_code, name, quantity, unit_price_minor)`, 7)
			for i := range k {
				seq := done + i
				id, cust := kefu.NewID(), custIDs[rng.IntN(nCust)]
				at := first.Add(time.Duration(rng.Int64N(int64(span)))).Truncate(time.Second)
				var total int64
				n := 1 + weighted(rng, []int{6, 3, 1})
				for pos := range n {
					k := skus[rng.IntN(len(skus))]
					qty := 1 + weighted(rng, []int{8, 2})
					itemID := kefu.NewID()
					items.Add(itemID, id, pos, k.code, "", qty, k.price)
					total += k.price * int64(qty)
					if pos == 0 && seq%stride == 0 && len(onCase) < nCases {
						onCase = append(onCase, orderRef{id, cust, at, itemID, k})
					}
				}
				delivered := at.Add(time.Duration(48+rng.IntN(96)) * time.Hour)
				orders.Add(id, shopID, fmt.Sprintf("BO%08d", seq), cust, "delivered", "CNY", total, total, pick(rng, []string{"alipay", "wechat_pay", "card"}),
					at, delivered, at, delivered)
			}
			return database.ExecBulk(ctx, tx, orders, items)
		})
		if err != nil {
			return fmt.Errorf("demo: after-sales bench orders: %w", err)
		}
		done += k
		progress("orders", done)
	}
	kinds := []string{"return", "exchange", "refund_only", "repair", "complaint"}
	var start int64
	if err := db.Read.QueryRowContext(ctx, `SELECT COALESCE(MAX(number), 10000) FROM tickets`).Scan(&start); err != nil {
		return err
	}
	for done := 0; done < len(onCase); {
		k := min(bulkRows*5, len(onCase)-done)
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			tickets := database.NewBulkInsert(db.Dialect, `tickets (id, number, subject, customer_id, channel, category, priority, status,
				order_number, created_at, updated_at)`, 11)
			cases := database.NewBulkInsert(db.Dialect, `aftersales_cases (id, number, kind, ticket_id, order_id, shop_id, customer_id, reason,
				step, responsible, currency, claimed_minor, refunded_minor, ordered_at, ordered_on, detail, created_at, updated_at, closed_at)`, 19)
			items := database.NewBulkInsert(db.Dialect, `aftersales_case_items (case_id, position, order_item_id, sku, product, product_name,
				supplier, quantity, unit_price_minor, received, passed, failed)`, 12)
			steps := database.NewBulkInsert(db.Dialect, `aftersales_steps (id, case_id, action, step, actor_kind, actor_name, data, public, at)`, 9)
			inspections := database.NewBulkInsert(db.Dialect, `aftersales_inspections (id, case_id, round, passed, inspector_name, at)`, 6)
			remedies := database.NewBulkInsert(db.Dialect, `aftersales_remedies (id, case_id, kind, state, amount_minor, currency, method,
				approved_by_name, started_at, due_at, done_at, created_at)`, 12)
			for i := range k {
				o := onCase[done+i]
				kind := kinds[weighted(rng, []int{55, 25, 8, 5, 7})]
				reason := pick(rng, benchReasons[kind])
				ticketID, caseID := kefu.NewID(), kefu.NewID()
				opened := o.at.Add(time.Duration(72+rng.IntN(200)) * time.Hour)
				if opened.After(now) {
					opened = now.Add(-time.Hour)
				}
				category := map[string]string{"return": "return_exchange", "exchange": "return_exchange", "refund_only": "billing",
					"repair": "repair", "complaint": "complaint"}[kind]
				tickets.Add(ticketID, start+int64(done+i)+1, "售后 "+kind, o.customer, "portal", category, "normal", "closed",
					fmt.Sprintf("BO%08d", 0), opened, opened)
				step, closed := "closed", opened.Add(time.Duration(48+rng.IntN(240))*time.Hour)
				if rng.IntN(20) == 0 {
					step = "refused"
					closed = opened
				}
				var refunded int64
				product, supplier := fmt.Sprintf("P%03d", o.sku.product), o.sku.supplier
				received, passed, failed := 0, 0, 0
				if step == "closed" {
					switch kind {
					case "return", "exchange":
						received = 1
						ok := rng.IntN(10) != 0
						if ok {
							passed = 1
						} else {
							failed = 1
						}
						at := opened.Add(time.Duration(72+rng.IntN(96)) * time.Hour)
						inspections.Add(kefu.NewID(), caseID, 1, ok, "质检员", at)
						if ok && kind == "return" {
							refunded = o.sku.price
							paid := at.Add(time.Duration(2+rng.IntN(100)) * time.Hour)
							due := at.Add(72 * time.Hour)
							remedies.Add(kefu.NewID(), caseID, "refund", "paid", refunded, "CNY", "original_payment", "主管", at, due, paid, at)
						}
					case "refund_only":
						refunded = o.sku.price
						paid := opened.Add(time.Duration(24+rng.IntN(120)) * time.Hour)
						remedies.Add(kefu.NewID(), caseID, "refund", "paid", refunded, "CNY", "original_payment", "主管", opened, opened.Add(72*time.Hour), paid, opened)
					case "repair":
						steps.Add(kefu.NewID(), caseID, "ship_back", "shipped_back", "staff", "技术支持", "{}", true, closed.Add(-time.Hour))
					case "complaint":
						steps.Add(kefu.NewID(), caseID, "resolve", "resolved", "staff", "主管", "{}", true, closed.Add(-time.Hour))
					}
				}
				detail, _ := json.Marshal(map[string]any{"description": "", "eligible": step != "refused"})
				cases.Add(caseID, int64(1001+done+i), kind, ticketID, o.id, shopID, o.customer, reason, step, "", "CNY", o.sku.price, refunded,
					o.at, o.at.In(shanghai).Format(time.DateOnly), string(detail), opened, closed, closed)
				items.Add(caseID, 0, o.item, o.sku.code, product, "", supplier, 1, o.sku.price, received, passed, failed)
				steps.Add(kefu.NewID(), caseID, "open", "requested", "staff", "客服", "{}", true, opened)
			}
			if err := database.ExecBulk(ctx, tx, tickets, cases, items, steps, inspections, remedies); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, db.Dialect.SetTicketNumber(), start+int64(done+k))
			return err
		})
		if err != nil {
			return fmt.Errorf("demo: after-sales bench cases: %w", err)
		}
		done += k
		progress("cases", done)
	}
	if _, err := db.Write.ExecContext(ctx, `INSERT INTO counters (name, value) VALUES ('aftersales_case', $1)
		ON CONFLICT (name) DO UPDATE SET value = $1`, int64(1000+len(onCase))); err != nil {
		return err
	}
	_, err = db.Write.ExecContext(ctx, `ANALYZE`)
	return err
}

var benchProducts = []string{"真丝衬衫", "羊毛开衫", "牛仔裤", "连衣裙", "蕾丝文胸", "棉质T恤", "风衣", "针织半身裙", "运动内衣", "羽绒服"}
