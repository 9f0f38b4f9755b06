package ticket_test

import (
	"testing"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// A customer actor (the portal) sees only their own tickets and their
// public messages and attachments, and may only add customer messages.
func TestCustomerActor(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db)
		mine, err := f.tickets.Create(f.ctx, newTicket("wang.fang@example.cn", "换货"))
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := f.tickets.Create(f.ctx, newTicket("li.na@example.cn", "物流"))
		if err != nil {
			t.Fatal(err)
		}
		file := []ticket.File{{Filename: "x.png", ContentType: "image/png", Data: []byte("\x89PNG")}}
		_, note, err := f.tickets.AddMessage(f.ctx, mine.ID, ticket.NewMessage{Kind: ticket.Note, Text: "internal", Files: file})
		if err != nil {
			t.Fatal(err)
		}
		_, reply, err := f.tickets.AddMessage(f.ctx, mine.ID, ticket.NewMessage{Kind: ticket.Reply, Text: "public", Files: file})
		if err != nil {
			t.Fatal(err)
		}
		me := kefu.WithActor(f.ctx, kefu.Actor{Kind: kefu.ActorCustomer, ID: mine.CustomerID})

		page, err := f.tickets.List(me, ticket.Filter{})
		if err != nil || len(page.Tickets) != 1 || page.Tickets[0].ID != mine.ID {
			t.Fatalf("list: %v", err)
		}
		if _, err := f.tickets.Get(me, theirs.Key); !kefu.IsCode(err, kefu.NotFound) {
			t.Fatalf("another customer's ticket: %v", err)
		}
		msgs, err := f.tickets.Messages(me, mine.ID, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if m.Kind != ticket.FromCustomer && m.Kind != ticket.Reply {
				t.Fatalf("a customer sees a %s", m.Kind)
			}
		}
		if len(msgs) != 2 {
			t.Fatalf("%d messages", len(msgs))
		}
		if _, _, err := f.tickets.OpenAttachment(me, note.Attachments[0].ID); !kefu.IsCode(err, kefu.NotFound) {
			t.Fatalf("a note's attachment: %v", err)
		}
		if _, f, err := f.tickets.OpenAttachment(me, reply.Attachments[0].ID); err != nil {
			t.Fatalf("a reply's attachment: %v", err)
		} else {
			f.Close()
		}

		for _, kind := range []ticket.MessageKind{ticket.Reply, ticket.Note} {
			if _, _, err := f.tickets.AddMessage(me, mine.ID, ticket.NewMessage{Kind: kind, Text: "x"}); !kefu.IsCode(err, kefu.Forbidden) {
				t.Fatalf("a customer writing a %s: %v", kind, err)
			}
		}
		if _, _, err := f.tickets.AddMessage(me, theirs.ID, ticket.NewMessage{Text: "x"}); !kefu.IsCode(err, kefu.NotFound) {
			t.Fatalf("writing on another customer's ticket: %v", err)
		}
		_, m, err := f.tickets.AddMessage(me, mine.ID, ticket.NewMessage{Text: "thanks", Channel: "portal"})
		if err != nil || m.Kind != ticket.FromCustomer || m.Channel != "portal" || m.AuthorCustomerID != mine.CustomerID {
			t.Fatalf("own message: %+v, %v", m, err)
		}
		if _, err := f.tickets.Update(me, mine.ID, 0, ticket.Patch{Subject: new("changed")}); !kefu.IsCode(err, kefu.Forbidden) {
			t.Fatalf("a customer changing a ticket: %v", err)
		}
	})
}
