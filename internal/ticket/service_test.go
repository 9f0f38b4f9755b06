package ticket_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/blob"
	"github.com/kefu-desk/kefu/internal/customer"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// stepClock advances one second per reading, so every change has its own
// instant and ordering by time is deterministic.
func stepClock() func() time.Time {
	var n atomic.Int64
	base := time.Date(2025, 9, 26, 9, 0, 0, 0, time.UTC)
	return func() time.Time { return base.Add(time.Duration(n.Add(1)) * time.Second) }
}

type fixture struct {
	db        *database.DB
	tickets   *ticket.Service
	customers *customer.Service
	ctx       context.Context
}

func setup(t *testing.T, db *database.DB) fixture {
	now := stepClock()
	cs := &customer.Service{DB: db, Now: now}
	// The blob store Kefu runs with: small blobs in the database.
	ts := &ticket.Service{DB: db, Now: now, Blobs: blob.New(db, t.TempDir(), now), Customers: cs}
	return fixture{db: db, tickets: ts, customers: cs, ctx: kefu.WithActor(context.Background(), kefu.System)}
}

func newTicket(email, subject string) ticket.NewTicket {
	return ticket.NewTicket{Subject: subject, Channel: "email", Category: "return_exchange",
		Customer: ticket.CustomerRef{Email: email, Name: "王芳"}, Message: ticket.NewMessage{Text: "尺码偏小，想换大一号"}}
}

func TestTicketLifecycle(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db)
		tk, err := f.tickets.Create(f.ctx, newTicket("Wang.Fang@example.cn", "换货：连衣裙尺码"))
		if err != nil {
			t.Fatal(err)
		}
		if tk.Key != "KF-10001" || tk.Status != ticket.New || tk.Version != 1 {
			t.Fatalf("created %s status %s version %d", tk.Key, tk.Status, tk.Version)
		}
		// The same customer writing from the same address (any case) is
		// the same customer.
		tk2, err := f.tickets.Create(f.ctx, newTicket("wang.fang@EXAMPLE.cn", "物流查询"))
		if err != nil {
			t.Fatal(err)
		}
		if tk2.CustomerID != tk.CustomerID || tk2.Key != "KF-10002" {
			t.Fatalf("second ticket %s customer %s, want KF-10002 for %s", tk2.Key, tk2.CustomerID, tk.CustomerID)
		}
		// A reply opens the ticket and counts as the first reply.
		tk, msg, err := f.tickets.AddMessage(f.ctx, tk.ID, ticket.NewMessage{Kind: ticket.Reply, Text: "您好，已为您登记换货。",
			ProposesSolution: true, Attachments: []ticket.Upload{{Filename: "尺码表.png", ContentType: "image/png", Content: strings.NewReader("png")}}})
		if err != nil {
			t.Fatal(err)
		}
		if tk.Status != ticket.Open || tk.FirstReplyAt == nil || len(msg.Attachments) != 1 || msg.Attachments[0].Filename != "尺码表.png" {
			t.Fatalf("after reply: status %s first reply %v attachments %+v", tk.Status, tk.FirstReplyAt, msg.Attachments)
		}
		// Solve, then the customer writes: it reopens.
		solved := ticket.Solved
		tk, err = f.tickets.Update(f.ctx, tk.ID, tk.Version, ticket.Patch{Status: &solved})
		if err != nil {
			t.Fatal(err)
		}
		if tk.SolvedAt == nil {
			t.Fatal("solved_at not set")
		}
		tk, _, err = f.tickets.AddMessage(f.ctx, tk.ID, ticket.NewMessage{Kind: ticket.FromCustomer, Text: "还是不合适"})
		if err != nil {
			t.Fatal(err)
		}
		if tk.Status != ticket.Open || tk.SolvedAt != nil {
			t.Fatalf("customer reply on solved: status %s solved_at %v", tk.Status, tk.SolvedAt)
		}
		// Close; a customer message then opens a linked follow-up.
		closed := ticket.Closed
		tk, err = f.tickets.Update(f.ctx, tk.ID, 0, ticket.Patch{Status: &closed})
		if err != nil {
			t.Fatal(err)
		}
		follow, _, err := f.tickets.AddMessage(f.ctx, tk.ID, ticket.NewMessage{Kind: ticket.FromCustomer, Text: "又坏了"})
		if err != nil {
			t.Fatal(err)
		}
		if follow.ID == tk.ID || follow.FollowUpOf != tk.ID || follow.Status != ticket.New {
			t.Fatalf("message on closed ticket went to %s (follow-up of %q, status %s)", follow.Key, follow.FollowUpOf, follow.Status)
		}
		// Closed is final.
		open := ticket.Open
		if _, err := f.tickets.Update(f.ctx, tk.ID, 0, ticket.Patch{Status: &open}); !kefu.IsCode(err, kefu.Invalid) {
			t.Fatalf("reopening a closed ticket: %v, want invalid", err)
		}
		msgs, err := f.tickets.Messages(f.ctx, tk.ID, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []ticket.MessageKind
		for _, m := range msgs {
			kinds = append(kinds, m.Kind)
		}
		want := []ticket.MessageKind{"customer", "reply", "event", "event", "customer", "event", "event", "event"}
		if diff := cmp.Diff(want, kinds); diff != "" {
			t.Errorf("thread kinds (-want +got):\n%s", diff)
		}
	})
}

func TestStaleUpdateIsRefused(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db)
		tk, err := f.tickets.Create(f.ctx, newTicket("a@example.com", "Where is my parcel?"))
		if err != nil {
			t.Fatal(err)
		}
		high, low := ticket.High, ticket.Low
		if _, err := f.tickets.Update(f.ctx, tk.ID, tk.Version, ticket.Patch{Priority: &high}); err != nil {
			t.Fatal(err)
		}
		_, err = f.tickets.Update(f.ctx, tk.ID, tk.Version, ticket.Patch{Priority: &low})
		var e *kefu.Error
		if !kefu.IsCode(err, kefu.Stale) {
			t.Fatalf("second update from the same version: %v, want stale", err)
		}
		e = err.(*kefu.Error)
		if cur := e.Current.(*ticket.Ticket); cur.Priority != ticket.High || cur.Version != 2 {
			t.Fatalf("stale error carries %s v%d, want high v2", cur.Priority, cur.Version)
		}
	})
}

func TestRejectedInputChangesNothing(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db)
		tk, err := f.tickets.Create(f.ctx, newTicket("a@example.com", "Refund"))
		if err != nil {
			t.Fatal(err)
		}
		bad := "nonexistent"
		_, err = f.tickets.Update(f.ctx, tk.ID, 0, ticket.Patch{Category: &bad, AddTags: []string{"vip"}, CustomFields: map[string]any{"size": "M"}})
		e, ok := err.(*kefu.Error)
		if !ok || e.Code != kefu.Invalid || len(e.Fields) != 2 {
			t.Fatalf("bad update: %v, want 2 field errors (category, custom_fields.size)", err)
		}
		after, _ := f.tickets.Get(f.ctx, tk.ID)
		if after.Version != tk.Version || after.Category != tk.Category || len(after.Tags) != 0 {
			t.Fatalf("rejected update changed the ticket: %+v", after)
		}
		_, err = f.tickets.Create(f.ctx, ticket.NewTicket{Channel: "fax", Message: ticket.NewMessage{}})
		e, ok = err.(*kefu.Error)
		if !ok || e.Code != kefu.Invalid {
			t.Fatalf("bad create: %v", err)
		}
		var fields []string
		for _, fe := range e.Fields {
			fields = append(fields, fe.Field)
		}
		if diff := cmp.Diff([]string{"subject", "channel", "customer", "message.text"}, fields); diff != "" {
			t.Errorf("field errors (-want +got):\n%s", diff)
		}
	})
}

func TestListFiltersAndVisibility(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db)
		var deptA, deptB, agent string
		for _, q := range []struct {
			dst  *string
			stmt string
		}{
			{&deptA, `INSERT INTO departments (id, slug, name, created_at) VALUES ($1, 'after-sales', 'After-sales', $2)`},
			{&deptB, `INSERT INTO departments (id, slug, name, created_at) VALUES ($1, 'finance', 'Finance', $2)`},
			{&agent, `INSERT INTO staff (id, email, name, role, created_at, updated_at) VALUES ($1, 'li@shop.cn', '李娜', 'agent', $2, $2)`},
		} {
			*q.dst = kefu.NewID()
			if _, err := db.Write.Exec(q.stmt, *q.dst, time.Now().UTC()); err != nil {
				t.Fatal(err)
			}
		}
		mk := func(dept string, tags ...string) *ticket.Ticket {
			in := newTicket("c@example.com", "x")
			in.DepartmentID, in.Tags = dept, tags
			tk, err := f.tickets.Create(f.ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			return tk
		}
		a1, _, b1, none := mk(deptA, "vip"), mk(deptA), mk(deptB, "vip"), mk("")
		page, err := f.tickets.List(f.ctx, ticket.Filter{Tag: "vip"})
		if err != nil {
			t.Fatal(err)
		}
		if got := keys(page.Tickets); !cmp.Equal(got, []string{b1.Key, a1.Key}) {
			t.Errorf("tag filter: %v", got)
		}
		// An agent of department A sees A's tickets and unrouted ones.
		actx := kefu.WithActor(context.Background(), kefu.Actor{Kind: kefu.ActorStaff, ID: agent, Role: kefu.RoleAgent, Departments: []string{deptA}})
		page, err = f.tickets.List(actx, ticket.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if got := keys(page.Tickets); len(got) != 3 || got[0] != none.Key {
			t.Errorf("agent of A sees %v, want 3 tickets starting with %s", got, none.Key)
		}
		if _, err := f.tickets.Get(actx, b1.ID); !kefu.IsCode(err, kefu.NotFound) {
			t.Errorf("agent of A reading B's ticket: %v, want not found", err)
		}
		// Paging walks every ticket once.
		var seen []string
		cursor := ""
		for {
			page, err := f.tickets.List(f.ctx, ticket.Filter{Limit: 3, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			seen = append(seen, keys(page.Tickets)...)
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		if len(seen) != 4 {
			t.Errorf("paging saw %v", seen)
		}
	})
}

func keys(ts []*ticket.Ticket) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Key)
	}
	return out
}

func TestMergeAndServiceFile(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db)
		a, err := f.tickets.Create(f.ctx, newTicket("x@example.com", "Order 1001 late"))
		if err != nil {
			t.Fatal(err)
		}
		in := newTicket("x@example.com", "Still late")
		in.OrderNumber = "#so-1001"
		b, err := f.tickets.Create(f.ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		merged, err := f.tickets.Merge(f.ctx, a.ID, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		if merged.OrderNumber != "SO-1001" {
			t.Errorf("merged order number %q", merged.OrderNumber)
		}
		src, _ := f.tickets.Get(f.ctx, b.ID)
		if src.Status != ticket.Closed || src.MergedInto != a.ID {
			t.Errorf("source after merge: %s merged into %q", src.Status, src.MergedInto)
		}
		msgs, _ := f.tickets.Messages(f.ctx, a.ID, "", 0)
		if n := countKind(msgs, ticket.FromCustomer); n != 2 {
			t.Errorf("target has %d customer messages, want 2", n)
		}
		// A second customer record of the same person merges in, and the
		// file shows everything in time order.
		other, err := f.customers.Create(f.ctx, customer.NewCustomer{Name: "X", Identities: []customer.NewIdent{{Kind: "phone", Value: "+86 138-0013-8000"}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.tickets.Create(f.ctx, ticket.NewTicket{Subject: "电话咨询", Channel: "phone", Customer: ticket.CustomerRef{Phone: "+8613800138000"},
			Message: ticket.NewMessage{Text: "询问发货时间"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.customers.Merge(f.ctx, a.CustomerID, other.ID); err != nil {
			t.Fatal(err)
		}
		file, err := f.tickets.File(f.ctx, other.ID, "", 4)
		if err != nil {
			t.Fatal(err)
		}
		if file.Customer.ID != a.CustomerID || len(file.Customer.Identities) != 2 || !cmp.Equal(file.Orders, []string{"SO-1001"}) {
			t.Fatalf("file of merged customer: %+v", file.Customer)
		}
		var all []ticket.FileItem
		for {
			all = append(all, file.Items...)
			if file.NextCursor == "" {
				break
			}
			if file, err = f.tickets.File(f.ctx, a.CustomerID, file.NextCursor, 4); err != nil {
				t.Fatal(err)
			}
		}
		for i := 1; i < len(all); i++ {
			if all[i].At.After(all[i-1].At) {
				t.Fatalf("file not newest first at %d: %v after %v", i, all[i].At, all[i-1].At)
			}
		}
		if all[0].Kind != "event" || all[0].Subtype != "merge" {
			t.Errorf("newest file item %+v, want the merge event", all[0])
		}
		entries, err := audit.List(f.ctx, db.Read, audit.Filter{TicketID: b.ID})
		if err != nil || len(entries) == 0 || entries[0].Action != "merged_into" {
			t.Fatalf("audit of merged ticket: %v %+v", err, entries)
		}
	})
}

func countKind(ms []ticket.Message, k ticket.MessageKind) int {
	n := 0
	for _, m := range ms {
		if m.Kind == k {
			n++
		}
	}
	return n
}
