package ticket_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
)

func TestRenameAndDeleteTags(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db)
		mk := func(tags ...string) string {
			in := newTicket("c@example.com", "x")
			in.Tags = tags
			tk, err := f.tickets.Create(f.ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			return tk.ID
		}
		both, onlyOld, other := mk("vip", "VIP客户"), mk("VIP客户"), mk("refund")
		counts := func() string {
			cs, err := f.tickets.Tags(f.ctx)
			if err != nil {
				t.Fatal(err)
			}
			return fmt.Sprint(cs)
		}
		if got := counts(); got != "[{VIP客户 2} {refund 1} {vip 1}]" {
			t.Fatalf("tags %s", got)
		}
		agent := kefu.WithActor(context.Background(), kefu.Actor{Kind: kefu.ActorStaff, ID: kefu.NewID(), Role: kefu.RoleAgent})
		if _, err := f.tickets.RenameTag(agent, "vip", "x"); !kefu.IsCode(err, kefu.Forbidden) {
			t.Errorf("agent renaming: %v", err)
		}
		if _, err := f.tickets.Tags(agent); !kefu.IsCode(err, kefu.Forbidden) {
			t.Errorf("agent listing: %v", err)
		}
		if _, err := f.tickets.RenameTag(f.ctx, "vip", "  "); !kefu.IsCode(err, kefu.Invalid) {
			t.Errorf("empty name: %v", err)
		}
		if _, err := f.tickets.RenameTag(f.ctx, "none", "x"); !kefu.IsCode(err, kefu.NotFound) {
			t.Errorf("unknown tag: %v", err)
		}
		before, _ := f.tickets.Get(f.ctx, both)

		// Renaming into an existing tag merges: the ticket with both keeps one.
		n, err := f.tickets.RenameTag(f.ctx, "VIP客户", "vip")
		if err != nil || n != 2 {
			t.Fatalf("rename: %d, %v", n, err)
		}
		if got := counts(); got != "[{refund 1} {vip 2}]" {
			t.Fatalf("after rename %s", got)
		}
		after, _ := f.tickets.Get(f.ctx, both)
		if fmt.Sprint(after.Tags) != "[vip]" || after.Version != before.Version+1 {
			t.Errorf("ticket with both: tags %v version %d → %d", after.Tags, before.Version, after.Version)
		}
		if tk, _ := f.tickets.Get(f.ctx, onlyOld); fmt.Sprint(tk.Tags) != "[vip]" {
			t.Errorf("renamed ticket has %v", tk.Tags)
		}

		if n, err := f.tickets.DeleteTag(f.ctx, "vip"); err != nil || n != 2 {
			t.Fatalf("delete: %d, %v", n, err)
		}
		if got := counts(); got != "[{refund 1}]" {
			t.Fatalf("after delete %s", got)
		}
		if tk, _ := f.tickets.Get(f.ctx, other); fmt.Sprint(tk.Tags) != "[refund]" {
			t.Errorf("untouched ticket has %v", tk.Tags)
		}
		var entries int
		if err := db.Read.QueryRow(`SELECT COUNT(*) FROM audit_log WHERE entity = 'tag'`).Scan(&entries); err != nil || entries != 2 {
			t.Errorf("%d tag audit entries (%v), want 2", entries, err)
		}
	})
}
