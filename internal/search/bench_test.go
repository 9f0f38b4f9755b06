package search_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/demo"
	"github.com/kefu-desk/kefu/internal/search"
)

// englishReplies go on every other bulk ticket, so English queries have
// something to find besides the Chinese the bulk data is written in.
var englishReplies = []string{
	"Sorry for the trouble. We will arrange a refund for order %s within three working days.",
	"Your parcel is on its way; tracking should update within 24 hours.",
	"Please send photos of the damaged sleeve so we can arrange an exchange.",
	"The VAT invoice for order %s has been issued to your email address.",
	"We have passed your feedback about larger sizes to our product team.",
}

// BenchmarkSearch searches a store of bulk tickets (each with its Chinese
// customer message, every other one with an English reply), indexed by
// Reindex, and reports the 95th percentile latency per query. 5,000
// tickets by default; KEFU_BENCH_LARGE=1 builds 100,000 per engine
// (a few minutes, not cached).
func BenchmarkSearch(b *testing.B) {
	n := 5_000
	if os.Getenv("KEFU_BENCH_LARGE") != "" {
		n = 100_000
	}
	for _, engine := range databasetest.Engines() {
		b.Run(fmt.Sprintf("%s/%dk", engine, n/1000), func(b *testing.B) {
			db := databasetest.Open(b, engine)
			s := search.New(db)
			ctx := kefu.WithActor(context.Background(), kefu.System)
			now := time.Now().UTC().Truncate(time.Microsecond)
			started := time.Now()
			if err := demo.BenchStore(ctx, db, n, now, nil); err != nil {
				b.Fatal(err)
			}
			if err := addEnglishReplies(ctx, db, now); err != nil {
				b.Fatal(err)
			}
			built := time.Since(started)
			started = time.Now()
			docs, err := s.Reindex(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := db.Write.ExecContext(ctx, `ANALYZE`); err != nil {
				b.Fatal(err)
			}
			b.Logf("%s: %d tickets built in %s; %d documents indexed in %s", engine, n, built.Round(time.Second), docs, time.Since(started).Round(time.Second))
			var dept, agent string
			one := func(q string, dst *string) {
				if err := db.Read.QueryRowContext(ctx, q).Scan(dst); err != nil {
					b.Fatal(err)
				}
			}
			one(`SELECT CAST(id AS text) FROM departments WHERE slug = 'after-sales'`, &dept)
			one(`SELECT CAST(id AS text) FROM staff WHERE email LIKE 'zhang.wei@%'`, &agent)
			agentCtx := kefu.WithActor(context.Background(), kefu.Actor{Kind: kefu.ActorStaff, ID: agent, Role: kefu.RoleAgent,
				Departments: []string{dept}, Scopes: []string{"tickets:read"}})
			order := fmt.Sprintf("SO%d", 20000000+n/2)
			for _, c := range []struct {
				name string
				ctx  context.Context
				q    search.Query
			}{
				{"cjk=退货", ctx, search.Query{Text: "退货"}},
				{"cjk=连衣裙尺码", ctx, search.Query{Text: "连衣裙尺码"}},
				{"cjk-one-char=退", ctx, search.Query{Text: "退"}},
				{"cjk-ranked=退货", ctx, search.Query{Text: "退货", Rank: true}},
				{"en=refund", ctx, search.Query{Text: "refund"}},
				{"en=Damaged Sleeve", ctx, search.Query{Text: "Damaged Sleeve"}},
				{"en-ranked=refund", ctx, search.Query{Text: "refund", Rank: true}},
				{"mixed=XL 大码", ctx, search.Query{Text: "XL 大码"}},
				{"order-number", ctx, search.Query{Text: order}},
				{"agent/cjk=退货", agentCtx, search.Query{Text: "退货"}},
				{"agent/en=refund", agentCtx, search.Query{Text: "refund"}},
			} {
				b.Run(c.name, func(b *testing.B) {
					durs := make([]time.Duration, 0, b.N)
					for b.Loop() {
						start := time.Now()
						res, err := s.Search(c.ctx, c.q)
						durs = append(durs, time.Since(start))
						if err != nil {
							b.Fatal(err)
						}
						if len(res.Tickets)+len(res.Messages) == 0 {
							b.Fatalf("%q found nothing", c.q.Text)
						}
					}
					slices.Sort(durs)
					p95 := durs[(len(durs)*95+99)/100-1]
					b.ReportMetric(float64(p95.Microseconds())/1000, "p95-ms")
				})
			}
		})
	}
}

// addEnglishReplies adds a staff reply in English to every other ticket,
// in multi-row INSERTs.
func addEnglishReplies(ctx context.Context, db *database.DB, now time.Time) error {
	rows, err := db.Read.QueryContext(ctx, `SELECT CAST(id AS text), order_number FROM tickets ORDER BY id`)
	if err != nil {
		return err
	}
	type tk struct{ id, order string }
	var ts []tk
	for rows.Next() {
		var t tk
		if err := rows.Scan(&t.id, &t.order); err != nil {
			rows.Close()
			return err
		}
		ts = append(ts, t)
	}
	rows.Close()
	for start := 0; start < len(ts); start += 800 {
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			var vals []string
			var args []any
			for i := start; i < min(start+800, len(ts)); i += 2 {
				text := englishReplies[(i/2)%len(englishReplies)]
				if strings.Contains(text, "%s") {
					text = fmt.Sprintf(text, ts[i].order)
				}
				vals = append(vals, "("+database.Placeholders(len(args)+1, 4)+", 'reply', 'email')")
				args = append(args, kefu.NewID(), ts[i].id, text, now)
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO messages (id, ticket_id, body_text, created_at, kind, channel) VALUES `+strings.Join(vals, ", "), args...)
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}
