package ticket_test

import (
	"testing"
	"time"

	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// A customer message with ReopenClosedWithin reopens a recently closed
// ticket; an older one, or one without the option, gets a follow-up; and
// an automated message changes no status.
func TestReopenClosedWithinAndAutomated(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db)
		closed := ticket.Closed
		solved := ticket.Solved
		mk := func() *ticket.Ticket {
			tk, err := f.tickets.Create(f.ctx, newTicket("wang.fang@example.cn", "换货"))
			if err != nil {
				t.Fatal(err)
			}
			if tk, err = f.tickets.Update(f.ctx, tk.ID, 0, ticket.Patch{Status: &closed}); err != nil {
				t.Fatal(err)
			}
			return tk
		}
		tk := mk()
		got, msg, err := f.tickets.AddMessage(f.ctx, tk.ID, ticket.NewMessage{Kind: ticket.FromCustomer, Text: "还是不行", ReopenClosedWithin: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != tk.ID || got.Status != ticket.Open || got.ClosedAt != nil || got.SolvedAt != nil || msg.TicketID != tk.ID {
			t.Fatalf("within the period: ticket %s status %s closed_at %v", got.Key, got.Status, got.ClosedAt)
		}

		tk = mk()
		got, _, err = f.tickets.AddMessage(f.ctx, tk.ID, ticket.NewMessage{Kind: ticket.FromCustomer, Text: "还是不行",
			At: tk.ClosedAt.Add(2 * time.Hour), ReopenClosedWithin: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if got.ID == tk.ID || got.FollowUpOf != tk.ID {
			t.Fatalf("after the period: got %s follow-up of %q, want a follow-up of %s", got.Key, got.FollowUpOf, tk.Key)
		}

		// Staff cannot use the option to write on a closed ticket.
		tk = mk()
		if _, _, err := f.tickets.AddMessage(f.ctx, tk.ID, ticket.NewMessage{Kind: ticket.Reply, Text: "x", ReopenClosedWithin: time.Hour}); err == nil {
			t.Fatal("a staff reply with ReopenClosedWithin was added to a closed ticket")
		}

		// An automated customer message neither reopens a solved ticket
		// nor loses its flag.
		tk, err = f.tickets.Create(f.ctx, newTicket("li@example.cn", "物流"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.tickets.Update(f.ctx, tk.ID, 0, ticket.Patch{Status: &solved}); err != nil {
			t.Fatal(err)
		}
		got, msg, err = f.tickets.AddMessage(f.ctx, tk.ID, ticket.NewMessage{Kind: ticket.FromCustomer, Text: "I am out of the office", Automated: true})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != ticket.Solved || !msg.Automated {
			t.Fatalf("automated message: status %s, automated %v", got.Status, msg.Automated)
		}
	})
}
