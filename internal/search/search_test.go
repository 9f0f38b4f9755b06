package search_test

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/blob"
	"github.com/kefu-desk/kefu/internal/customer"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/search"
	"github.com/kefu-desk/kefu/internal/ticket"
)

type fixture struct {
	db        *database.DB
	search    *search.Service
	tickets   *ticket.Service
	customers *customer.Service
	ctx       context.Context // the system actor
}

func setup(t *testing.T, db *database.DB) fixture {
	var n atomic.Int64
	base := time.Date(2025, 11, 11, 9, 0, 0, 0, time.UTC)
	now := func() time.Time { return base.Add(time.Duration(n.Add(1)) * time.Second) }
	s := search.New(db)
	cs := &customer.Service{DB: db, Now: now, Hooks: []customer.Hook{s}}
	ts := &ticket.Service{DB: db, Now: now, Blobs: blob.Dir{Root: t.TempDir()}, Customers: cs, Hooks: []ticket.Hook{s}}
	return fixture{db: db, search: s, tickets: ts, customers: cs, ctx: kefu.WithActor(context.Background(), kefu.System)}
}

func (f fixture) create(t *testing.T, subject, email, order, text string) *ticket.Ticket {
	t.Helper()
	tk, err := f.tickets.Create(f.ctx, ticket.NewTicket{Subject: subject, Channel: "email", Category: "order", OrderNumber: order,
		Customer: ticket.CustomerRef{Email: email}, Message: ticket.NewMessage{Kind: ticket.FromCustomer, Text: text}})
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// find runs q as ctx's actor and returns the ticket keys, message ticket
// keys and customer names found, in order.
func (f fixture) find(t *testing.T, ctx context.Context, q search.Query) (tickets, messages, customers []string) {
	t.Helper()
	res, err := f.search.Search(ctx, q)
	if err != nil {
		t.Fatalf("search %q: %v", q.Text, err)
	}
	tickets, messages, customers = []string{}, []string{}, []string{}
	for _, h := range res.Tickets {
		tickets = append(tickets, h.Key)
	}
	for _, h := range res.Messages {
		messages = append(messages, h.TicketKey)
	}
	for _, h := range res.Customers {
		customers = append(customers, h.Name)
	}
	return tickets, messages, customers
}

func TestSearch(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db)
		dress := f.create(t, "连衣裙尺码偏小", "wang.fang@example.cn", "SO-88001", "收到的连衣裙偏小，申请退货退款。")
		phone := f.create(t, "iPhone 屏幕碎了", "Olivia.Smith@Example.com", "so20250101", "My iPhone screen arrived CRACKED.")
		wide := f.create(t, "ＶＩＰ会员积分", "li@example.cn", "", "积分没有到账")
		if _, err := f.customers.Update(f.ctx, dress.CustomerID, 0, customer.Patch{Name: ptr("王芳")}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.customers.AddIdentity(f.ctx, dress.CustomerID, customer.NewIdent{Kind: customer.Phone, Value: "+86 138-0013-8000"}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			q                            string
			tickets, messages, customers []string
		}{
			{"尺码", []string{dress.Key}, nil, nil},
			{"连衣裙", []string{dress.Key}, []string{dress.Key}, nil},
			{"退货", nil, []string{dress.Key}, nil},
			{"退", nil, []string{dress.Key}, nil},       // one character: a prefix of 退货
			{"款", nil, []string{dress.Key}, nil},       // the last character of a run
			{"尺码偏大", nil, nil, nil},                    // a phrase: every bigram, adjacent
			{"cracked", nil, []string{phone.Key}, nil}, // case-insensitive
			{"IPHONE", []string{phone.Key}, []string{phone.Key}, nil},
			{"iPhone 屏幕", []string{phone.Key}, nil, nil}, // mixed: both terms
			{"iph*", []string{phone.Key}, []string{phone.Key}, nil},
			{"vip", []string{wide.Key}, nil, nil},      // fullwidth in the document
			{"ｃｒａｃｋｅｄ", nil, []string{phone.Key}, nil}, // fullwidth in the query
			{"王芳", nil, nil, []string{"王芳"}},
			{dress.Key, []string{dress.Key}, nil, nil},
			{strings.ToLower(dress.Key), []string{dress.Key}, nil, nil},
			{"SO-88001", []string{dress.Key}, nil, nil},
			{"so2025", []string{phone.Key}, nil, nil},            // order number prefix
			{"wang.fang@", nil, nil, []string{"王芳"}},             // email prefix
			{"olivia.smith@example.com", nil, nil, []string{""}}, // unnamed customer, by email
			{"138 0013", nil, nil, []string{"王芳"}},               // phone prefix, typed with a space…
			{"13800138000", nil, nil, []string{"王芳"}},            // …and without +86
			{"nothing-like-this", nil, nil, nil},
		} {
			tk, msgs, cs := f.find(t, f.ctx, search.Query{Text: c.q})
			want := [][]string{c.tickets, c.messages, c.customers}
			for i := range want {
				if want[i] == nil {
					want[i] = []string{}
				}
			}
			if diff := cmp.Diff(want, [][]string{tk, msgs, cs}); diff != "" {
				t.Errorf("search %q (-want +got):\n%s", c.q, diff)
			}
		}
	})
}

func ptr[T any](v T) *T { return &v }

func TestSearchHighlights(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db)
		f.create(t, "连衣裙尺码偏小", "wang.fang@example.cn", "", "收到的连衣裙偏小，申请退货退款。")
		res, err := f.search.Search(f.ctx, search.Query{Text: "退货", Kinds: []search.Kind{search.Messages}})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Messages) != 1 {
			t.Fatalf("%d messages", len(res.Messages))
		}
		want := []search.Fragment{{Text: "收到的连衣裙偏小，申请"}, {Text: "退货", Match: true}, {Text: "退款。"}}
		if diff := cmp.Diff(want, res.Messages[0].Snippet); diff != "" {
			t.Errorf("snippet (-want +got):\n%s", diff)
		}
		if res.Messages[0].TicketSubject != "连衣裙尺码偏小" || res.Messages[0].Kind != "customer" {
			t.Errorf("hit %+v", res.Messages[0])
		}
	})
}

func TestSearchVisibility(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db)
		var deps [2]string
		for i, slug := range []string{"after-sales", "finance"} {
			deps[i] = kefu.NewID()
			if _, err := db.Write.Exec(`INSERT INTO departments (id, slug, name, created_at) VALUES ($1, $2, $2, $3)`, deps[i], slug, time.Now().UTC()); err != nil {
				t.Fatal(err)
			}
		}
		tk, err := f.tickets.Create(f.ctx, ticket.NewTicket{Subject: "重复扣款", Channel: "email", Category: "billing", DepartmentID: deps[1],
			Customer: ticket.CustomerRef{Email: "pay@example.cn"}, Message: ticket.NewMessage{Kind: ticket.FromCustomer, Text: "被扣了两次款"}})
		if err != nil {
			t.Fatal(err)
		}
		agent := func(dep string, scopes ...string) context.Context {
			return kefu.WithActor(context.Background(), kefu.Actor{Kind: kefu.ActorStaff, ID: kefu.NewID(), Role: kefu.RoleAgent, Departments: []string{dep}, Scopes: scopes})
		}
		for _, q := range []string{"扣款", tk.Key, "两次"} {
			if tks, msgs, _ := f.find(t, agent(deps[0]), search.Query{Text: q}); len(tks)+len(msgs) != 0 {
				t.Errorf("an after-sales agent found %q: %v %v", q, tks, msgs)
			}
			if tks, msgs, _ := f.find(t, agent(deps[1]), search.Query{Text: q}); len(tks)+len(msgs) == 0 {
				t.Errorf("a finance agent did not find %q", q)
			}
		}
		// A token without customers:read finds no customers.
		if _, _, cs := f.find(t, agent(deps[1], "tickets:read"), search.Query{Text: "pay@example.cn"}); len(cs) != 0 {
			t.Errorf("found customers without customers:read: %v", cs)
		}
		if _, _, cs := f.find(t, agent(deps[1], "tickets:read", "customers:read"), search.Query{Text: "pay@example.cn"}); len(cs) != 1 {
			t.Errorf("customers with customers:read: %v", cs)
		}
	})
}

func TestSearchFollowsChanges(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db)
		a := f.create(t, "快递三天没有更新", "a@example.cn", "", "包裹在哪里")
		b := f.create(t, "物流查询", "a@example.cn", "", "顺丰单号查不到")
		// An update re-indexes the subject.
		if _, err := f.tickets.Update(f.ctx, a.ID, 0, ticket.Patch{Subject: ptr("快递丢件了"), AddTags: []string{"lost-parcel"}}); err != nil {
			t.Fatal(err)
		}
		if tks, _, _ := f.find(t, f.ctx, search.Query{Text: "更新", Kinds: []search.Kind{search.Tickets}}); len(tks) != 0 {
			t.Errorf("old subject still found: %v", tks)
		}
		if tks, _, _ := f.find(t, f.ctx, search.Query{Text: "丢件"}); !slices.Equal(tks, []string{a.Key}) {
			t.Errorf("new subject: %v", tks)
		}
		if tks, _, _ := f.find(t, f.ctx, search.Query{Text: "lost parcel"}); !slices.Equal(tks, []string{a.Key}) {
			t.Errorf("tag: %v", tks)
		}
		// A reply is indexed with its ticket.
		if _, _, err := f.tickets.AddMessage(f.ctx, a.ID, ticket.NewMessage{Kind: ticket.Note, Text: "已联系顺丰理赔"}); err != nil {
			t.Fatal(err)
		}
		if _, msgs, _ := f.find(t, f.ctx, search.Query{Text: "理赔"}); !slices.Equal(msgs, []string{a.Key}) {
			t.Errorf("note: %v", msgs)
		}
		// Merging b into a: b leaves the ticket results, its messages are
		// found on a.
		if _, err := f.tickets.Merge(f.ctx, a.ID, b.ID); err != nil {
			t.Fatal(err)
		}
		if tks, msgs, _ := f.find(t, f.ctx, search.Query{Text: "顺丰"}); len(tks) != 0 || !slices.Equal(msgs, []string{a.Key, a.Key}) {
			t.Errorf("after merge: tickets %v messages %v", tks, msgs)
		}
		if tks, _, _ := f.find(t, f.ctx, search.Query{Text: "物流查询"}); len(tks) != 0 {
			t.Errorf("merged ticket still found: %v", tks)
		}
		// Customers: a merged customer leaves the index.
		c1, err := f.customers.Create(f.ctx, customer.NewCustomer{Name: "Emma Walker"})
		if err != nil {
			t.Fatal(err)
		}
		c2, err := f.customers.Create(f.ctx, customer.NewCustomer{Name: "Emma W.", Identities: []customer.NewIdent{{Kind: customer.WeChat, Value: "emma_w88"}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.customers.Merge(f.ctx, c1.ID, c2.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, cs := f.find(t, f.ctx, search.Query{Text: "emma"}); !slices.Equal(cs, []string{"Emma Walker"}) {
			t.Errorf("after customer merge: %v", cs)
		}
		if _, _, cs := f.find(t, f.ctx, search.Query{Text: "emma_w"}); !slices.Equal(cs, []string{"Emma Walker"}) {
			t.Errorf("moved identity: %v", cs)
		}
	})
}

func TestSearchRankAndPages(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db)
		best := f.create(t, "退货 退货 退货", "a@example.cn", "", "退货")
		var keys []string
		for i := range 4 {
			keys = append(keys, f.create(t, "申请退货", "b@example.cn", "", "谢谢"+strings.Repeat("好", i)).Key)
		}
		slices.Reverse(keys) // newest first
		tks, _, _ := f.find(t, f.ctx, search.Query{Text: "退货", Kinds: []search.Kind{search.Tickets}})
		if want := append(slices.Clone(keys), best.Key); !slices.Equal(tks, want) {
			t.Errorf("newest first: %v, want %v", tks, want)
		}
		tks, _, _ = f.find(t, f.ctx, search.Query{Text: "退货", Kinds: []search.Kind{search.Tickets}, Rank: true})
		if len(tks) != 5 || tks[0] != best.Key {
			t.Errorf("ranked: %v, want %s first", tks, best.Key)
		}
		// Pages: two at a time, in both orders, every ticket once.
		for _, rank := range []bool{false, true} {
			var all []string
			q := search.Query{Text: "退货", Kinds: []search.Kind{search.Tickets}, Limit: 2, Rank: rank}
			for page := 0; ; page++ {
				res, err := f.search.Search(f.ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				for _, h := range res.Tickets {
					all = append(all, h.Key)
				}
				if res.NextCursor == "" || page > 5 {
					break
				}
				q.Cursor = res.NextCursor
			}
			if slices.Sort(all); !slices.Equal(all, slices.Sorted(slices.Values(append(slices.Clone(keys), best.Key)))) {
				t.Errorf("rank=%v: pages gave %v", rank, all)
			}
		}
	})
}

func TestReindex(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db)
		tk := f.create(t, "发票怎么开", "inv@example.cn", "", "需要增值税发票")
		// Lose the index, as a store from before search would have none.
		if _, err := db.Write.Exec(`DELETE FROM search_docs`); err != nil {
			t.Fatal(err)
		}
		if tks, _, _ := f.find(t, f.ctx, search.Query{Text: "发票"}); len(tks) != 0 {
			t.Fatalf("found %v with no index", tks)
		}
		n, err := f.search.Reindex(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n != 3 { // the ticket, its message, its customer
			t.Errorf("reindexed %d documents, want 3", n)
		}
		if tks, msgs, cs := f.find(t, f.ctx, search.Query{Text: "发票"}); !slices.Equal(tks, []string{tk.Key}) || !slices.Equal(msgs, []string{tk.Key}) || len(cs) != 0 {
			t.Errorf("after reindex: %v %v %v", tks, msgs, cs)
		}
		if _, _, cs := f.find(t, f.ctx, search.Query{Text: "inv example"}); len(cs) != 1 {
			t.Errorf("customer after reindex: %v", cs)
		}
	})
}

func TestSearchInvalid(t *testing.T) {
	db := databasetest.Open(t, "sqlite")
	f := setup(t, db)
	for _, q := range []search.Query{{}, {Text: "x", Limit: 99}, {Text: "x", Kinds: []search.Kind{"orders"}}, {Text: "x", Cursor: "!!"}} {
		if _, err := f.search.Search(f.ctx, q); !kefu.IsCode(err, kefu.Invalid) {
			t.Errorf("%+v: %v, want invalid", q, err)
		}
	}
}
