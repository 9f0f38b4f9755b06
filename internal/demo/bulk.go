package demo

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// bulkRows is rows per batch; database.Batch splits them into statements
// under each engine's limit on bound parameters.
const bulkRows = 400

// bulkTags are put on one ticket in six, as Seed does, so lists filtered
// by tag have something to find.
var bulkTags = []string{"vip", "urgent-followup", "peak-season", "repeat"}

// Bulk adds n tickets, each with one customer message, and n/4 customers,
// with multi-row INSERTs that bypass the services: it builds a store of a
// million tickets for benchmarks in minutes. The tickets spread over the
// two years before now, across every status, priority, channel, category
// and department. progress, if set, is called after each batch.
func Bulk(ctx context.Context, db *database.DB, n int, now time.Time, seed uint64, progress func(done int)) error {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	depts, err := database.Strings(ctx, db.Read, `SELECT CAST(id AS text) FROM departments ORDER BY slug`)
	if err != nil {
		return err
	}
	staff, err := database.Strings(ctx, db.Read, `SELECT CAST(id AS text) FROM staff WHERE role IN ('agent', 'supervisor') ORDER BY email`)
	if err != nil {
		return err
	}
	var start int64
	if err := db.Read.QueryRowContext(ctx, `SELECT COALESCE(MAX(number), 10000) FROM tickets`).Scan(&start); err != nil {
		return err
	}
	nCust := max(1, n/4)
	custIDs := make([]string, nCust)
	span := 2 * 365 * 24 * time.Hour
	first := now.Add(-span)
	cats := []string{"consultation", "order", "logistics", "promotion", "return_exchange", "repair", "complaint", "billing", "feedback", "other"}
	statuses := []ticket.Status{ticket.New, ticket.Open, ticket.PendingCustomer, ticket.PendingInternal, ticket.Solved, ticket.Closed}

	for done := 0; done < nCust; {
		k := min(bulkRows, nCust-done)
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			cust := database.NewBulkInsert(db.Dialect, "customers (id, name, language, created_at, updated_at)", 5)
			ident := database.NewBulkInsert(db.Dialect, "customer_identities (id, customer_id, kind, value, value_norm, created_at)", 6)
			for i := range k {
				id := kefu.NewID()
				custIDs[done+i] = id
				at := first.Add(time.Duration(int64(done+i) * int64(span) / int64(nCust)))
				name := pick(rng, surnames) + pick(rng, givenNames)
				cust.Add(id, name, "zh-CN", at, at)
				email := fmt.Sprintf("bulk%d.%d@example.cn", seed, start+int64(done+i))
				ident.Add(kefu.NewID(), id, "email", email, email, at)
			}
			return database.ExecBulk(ctx, tx, cust, ident)
		})
		if err != nil {
			return fmt.Errorf("demo: bulk customers: %w", err)
		}
		done += k
	}
	for done := 0; done < n; {
		k := min(bulkRows*5, n-done)
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			for off := 0; off < k; off += bulkRows {
				m := min(bulkRows, k-off)
				tk := database.NewBulkInsert(db.Dialect, "tickets (id, number, subject, customer_id, channel, category, priority, status, assignee_id, department_id, order_number, created_at, updated_at)", 13)
				msg := database.NewBulkInsert(db.Dialect, "messages (id, ticket_id, kind, channel, author_customer_id, body_text, created_at)", 7)
				tags := database.NewBulkInsert(db.Dialect, "ticket_tags (ticket_id, tag)", 2)
				for i := range m {
					seq := done + off + i
					id := kefu.NewID()
					at := first.Add(time.Duration(int64(seq) * int64(span) / int64(n)))
					sc := pick(rng, scenarios)
					cust := custIDs[rng.IntN(nCust)]
					channel := pick(rng, channelsByWeight)
					status := statuses[weighted(rng, []int{1, 2, 1, 1, 3, 12})]
					var assignee, dept any
					if len(staff) > 0 && status != ticket.New {
						assignee = pick(rng, staff)
					}
					if len(depts) > 0 {
						dept = pick(rng, depts)
					}
					order := fmt.Sprintf("SO%d", 20000000+seq)
					tk.Add(id, start+int64(seq)+1, sc.subjectZh, cust, channel, pick(rng, cats),
						string(ticket.Priorities[weighted(rng, []int{2, 6, 2, 1})]), string(status), assignee, dept, order, at, at)
					msg.Add(kefu.NewID(), id, "customer", channel, cust, strings.ReplaceAll(sc.bodyZh, "{order}", order), at)
					if rng.IntN(6) == 0 {
						tags.Add(id, pick(rng, bulkTags))
					}
				}
				if err := database.ExecBulk(ctx, tx, tk, msg, tags); err != nil {
					return err
				}
			}
			_, err := tx.ExecContext(ctx, db.Dialect.SetTicketNumber(), start+int64(done+k))
			return err
		})
		if err != nil {
			return fmt.Errorf("demo: bulk tickets: %w", err)
		}
		done += k
		if progress != nil {
			progress(done)
		}
	}
	return nil
}
