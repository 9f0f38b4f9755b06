package portal_test

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/portal"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// signIn signs the holder of email in with a mailed code.
func (h *harness) signIn(t *testing.T, email string) *portal.Session {
	t.Helper()
	ch, code := h.requestCode(t, email, "192.0.2.200")
	sess, err := h.portal.VerifyCode(h.ctx, portal.Verify{Challenge: ch.ID, Code: code, IP: "192.0.2.200"})
	if err != nil {
		t.Fatal(err)
	}
	return sess
}

// open makes a ticket for the customer holding email, as the shop would.
func (h *harness) open(t *testing.T, email, subject, order string) *ticket.Ticket {
	t.Helper()
	tk, err := h.tickets.Create(h.ctx, ticket.NewTicket{Subject: subject, Customer: ticket.CustomerRef{Email: email}, Channel: "email",
		Category: "order", OrderNumber: order, Message: ticket.NewMessage{Kind: ticket.FromCustomer, Text: subject + " — details"}})
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func (h *harness) write(t *testing.T, tk *ticket.Ticket, m ticket.NewMessage) *ticket.Message {
	t.Helper()
	_, msg, err := h.tickets.AddMessage(h.ctx, tk.ID, m)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// A customer sees their own tickets and, in them, their messages and the
// shop's replies: never an internal note, an event, a note's attachment,
// or anything of another customer's — by key, by id or by attachment.
func TestCustomerSeesOnlyTheirOwnPublicThread(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		h := newHarness(t, db)
		h.customer(t, "Anna", "anna@example.com")
		h.customer(t, "Bo", "bo@example.com")
		mine := h.open(t, "anna@example.com", "Parcel missing", "SO-1")
		theirs := h.open(t, "bo@example.com", "Wrong colour", "SO-2")
		h.write(t, mine, ticket.NewMessage{Kind: ticket.Note, Text: "SECRET: customer has a history of false claims",
			Files: []ticket.File{{Filename: "internal.png", ContentType: "image/png", Data: png}}})
		reply := h.write(t, mine, ticket.NewMessage{Kind: ticket.Reply, Text: "We are checking with the courier.",
			Files: []ticket.File{{Filename: "label.png", ContentType: "image/png", Data: png}}})
		theirMsg := h.write(t, theirs, ticket.NewMessage{Kind: ticket.Reply, Text: "Bo's answer",
			Files: []ticket.File{{Filename: "bo.png", ContentType: "image/png", Data: png}}})
		assignee := ticket.PendingInternal
		if _, err := h.tickets.Update(h.ctx, mine.ID, 0, ticket.Patch{Status: &assignee}); err != nil {
			t.Fatal(err)
		}

		sess := h.signIn(t, "anna@example.com")
		list, err := h.portal.Requests(h.ctx, sess)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].ID != mine.ID {
			t.Fatalf("list %v", keys(list))
		}
		v, err := h.portal.Ticket(h.ctx, sess, mine.Key)
		if err != nil {
			t.Fatal(err)
		}
		if v.Stage != portal.InProgress {
			t.Fatalf("pending_internal shown as %s", v.Stage)
		}
		var texts []string
		for _, m := range v.Messages {
			if m.Kind != ticket.FromCustomer && m.Kind != ticket.Reply {
				t.Errorf("a %s message is shown", m.Kind)
			}
			texts = append(texts, m.Text)
			for _, a := range m.Attachments {
				if a.Filename == "internal.png" {
					t.Error("a note's attachment is listed")
				}
			}
		}
		if len(v.Messages) != 2 || strings.Contains(strings.Join(texts, "|"), "SECRET") {
			t.Fatalf("thread %q", texts)
		}
		// The ticket service itself holds the line for a customer actor.
		msgs, err := h.tickets.Messages(kefu.WithActor(h.ctx, kefu.Actor{Kind: kefu.ActorCustomer, ID: sess.CustomerID}), mine.ID, "", 100)
		if err != nil || len(msgs) != 2 {
			t.Fatalf("ticket service gave a customer %d messages: %v", len(msgs), err)
		}

		for _, key := range []string{theirs.Key, theirs.ID, "KF-99999", "not-a-key"} {
			if _, err := h.portal.Ticket(h.ctx, sess, key); !kefu.IsCode(err, kefu.NotFound) {
				t.Errorf("ticket %s: %v", key, err)
			}
		}
		theirCount := h.count(t, `SELECT count(*) FROM messages WHERE ticket_id = $1`, theirs.ID)
		if _, err := h.portal.Reply(h.ctx, sess, theirs.Key, portal.Reply{Text: "hi", IP: "192.0.2.9"}); !kefu.IsCode(err, kefu.NotFound) {
			t.Errorf("reply to another's ticket: %v", err)
		}
		var noteAtt string
		if err := db.Read.QueryRow(`SELECT CAST(a.id AS text) FROM attachments a JOIN messages m ON m.id = a.message_id WHERE m.kind = 'note'`).Scan(&noteAtt); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{noteAtt, theirMsg.Attachments[0].ID, "nope"} {
			if _, _, err := h.portal.Attachment(h.ctx, sess, id); !kefu.IsCode(err, kefu.NotFound) {
				t.Errorf("attachment %s: %v", id, err)
			}
		}
		a, f, err := h.portal.Attachment(h.ctx, sess, reply.Attachments[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(f)
		f.Close()
		if a.Filename != "label.png" || !bytes.Equal(b, png) {
			t.Fatalf("attachment %+v", a)
		}
		if n := h.count(t, `SELECT count(*) FROM messages WHERE ticket_id = $1`, theirs.ID); n != theirCount {
			t.Fatalf("another customer's ticket has %d messages", n)
		}
	})
}

// An order number (or ticket key) with the email address opens that one
// request: the newest about the order, and nothing else of the customer's.
func TestOrderAccessIsScopedToOneRequest(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		h := newHarness(t, db)
		h.customer(t, "Anna", "anna@example.com")
		older := h.open(t, "anna@example.com", "Where is it?", "SO-7")
		newer := h.open(t, "anna@example.com", "Still not here", "so-7")
		other := h.open(t, "anna@example.com", "Invoice", "SO-8")
		reply := h.write(t, other, ticket.NewMessage{Kind: ticket.Reply, Text: "attached",
			Files: []ticket.File{{Filename: "invoice.png", ContentType: "image/png", Data: png}}})

		sess, err := h.portal.OrderAccess(h.ctx, portal.OrderSignIn{Order: " #so-7 ", Email: "ANNA@example.com", IP: "192.0.2.1"})
		if err != nil {
			t.Fatal(err)
		}
		if sess.TicketID != newer.ID || sess.Method != "order" {
			t.Fatalf("session for %s, want %s", sess.TicketID, newer.Key)
		}
		list, err := h.portal.Requests(h.ctx, sess)
		if err != nil || len(list) != 1 || list[0].ID != newer.ID {
			t.Fatalf("list %v, %v", keys(list), err)
		}
		for _, tk := range []*ticket.Ticket{older, other} {
			if _, err := h.portal.Ticket(h.ctx, sess, tk.Key); !kefu.IsCode(err, kefu.NotFound) {
				t.Errorf("%s through an order session: %v", tk.Key, err)
			}
		}
		if _, _, err := h.portal.Attachment(h.ctx, sess, reply.Attachments[0].ID); !kefu.IsCode(err, kefu.NotFound) {
			t.Errorf("another request's attachment: %v", err)
		}
		// Its session is short.
		h.clock.Advance(portal.DefaultLimits.OrderSessionTTL)
		if _, err := h.portal.Session(h.ctx, sess.Token); !kefu.IsCode(err, kefu.Unauthorized) {
			t.Fatalf("order session past its limit: %v", err)
		}

		// The ticket key works instead of an order number.
		sess, err = h.portal.OrderAccess(h.ctx, portal.OrderSignIn{Order: strings.ToLower(older.Key), Email: "anna@example.com", IP: "192.0.2.1"})
		if err != nil || sess.TicketID != older.ID {
			t.Fatalf("by key: %+v, %v", sess, err)
		}

		// Someone else's email, a wrong order, bad input: refused.
		h.customer(t, "Bo", "bo@example.com")
		for _, in := range []portal.OrderSignIn{{Order: "SO-7", Email: "bo@example.com"}, {Order: "SO-9", Email: "anna@example.com"},
			{Order: other.Key, Email: "bo@example.com"}} {
			in.IP = "192.0.2.2"
			if _, err := h.portal.OrderAccess(h.ctx, in); !kefu.IsCode(err, kefu.Invalid) || !strings.Contains(err.Error(), "no request matches") {
				t.Errorf("%+v: %v", in, err)
			}
		}
		if _, err := h.portal.OrderAccess(h.ctx, portal.OrderSignIn{Email: "anna", IP: "192.0.2.3"}); !kefu.IsCode(err, kefu.Invalid) {
			t.Errorf("bad input: %v", err)
		}
	})
}

// Guessing order numbers stops after FailuresPerHour misses for one email
// address, from any network address, until the hour has passed.
func TestOrderAccessFailuresAreLimited(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		h := newHarness(t, db)
		h.customer(t, "Anna", "anna@example.com")
		tk := h.open(t, "anna@example.com", "Where is it?", "SO-7")
		for i := range portal.DefaultLimits.FailuresPerHour {
			ip := "198.51.100." + string(rune('0'+i%10)) + string(rune('0'+i/10))
			if _, err := h.portal.OrderAccess(h.ctx, portal.OrderSignIn{Order: "SO-" + string(rune('A'+i)), Email: "anna@example.com", IP: ip}); !kefu.IsCode(err, kefu.Invalid) {
				t.Fatalf("guess %d: %v", i, err)
			}
		}
		if _, err := h.portal.OrderAccess(h.ctx, portal.OrderSignIn{Order: "SO-7", Email: "anna@example.com", IP: "198.51.100.250"}); !kefu.IsCode(err, kefu.RateLimited) {
			t.Fatalf("after the guesses: %v", err)
		}
		h.clock.Advance(time.Hour)
		sess, err := h.portal.OrderAccess(h.ctx, portal.OrderSignIn{Order: "SO-7", Email: "anna@example.com", IP: "198.51.100.250"})
		if err != nil || sess.TicketID != tk.ID {
			t.Fatalf("an hour later: %v", err)
		}
	})
}

// A customer's reply reopens a solved ticket, carries their photos, is
// recorded as coming from the portal and in their name; on a closed
// ticket it opens a linked follow-up, which an order session then sees.
func TestReplyReopensSolvedTicket(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		h := newHarness(t, db)
		c := h.customer(t, "Anna", "anna@example.com")
		tk := h.open(t, "anna@example.com", "Zip broken", "SO-5")
		h.write(t, tk, ticket.NewMessage{Kind: ticket.Reply, Text: "Sorry! A new one is on its way.", Status: ticket.Solved})
		sess := h.signIn(t, "anna@example.com")
		v, err := h.portal.Ticket(h.ctx, sess, tk.Key)
		if err != nil || v.Stage != portal.Resolved || v.Promise != nil {
			t.Fatalf("solved ticket: %+v, %v", v, err)
		}
		got, err := h.portal.Reply(h.ctx, sess, tk.Key, portal.Reply{Text: "The new one is broken too.", IP: "192.0.2.1",
			Photos: []portal.Photo{photo("zip.png", png)}})
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != tk.ID || got.Status != ticket.Open || got.SolvedAt != nil {
			t.Fatalf("after the reply: %s %s", got.Key, got.Status)
		}
		msgs, _ := h.tickets.Messages(h.ctx, tk.ID, "", 10)
		var last ticket.Message
		for _, m := range msgs {
			if m.Kind != ticket.Event {
				last = m
			}
		}
		if last.Kind != ticket.FromCustomer || last.Channel != "portal" || last.AuthorCustomerID != c.ID || len(last.Attachments) != 1 {
			t.Fatalf("stored reply %+v", last)
		}
		var actorKind, actorID string
		if err := db.Read.QueryRow(`SELECT actor_kind, actor_id FROM audit_log WHERE ticket_id = $1 AND action = 'message' ORDER BY id DESC LIMIT 1`, tk.ID).Scan(&actorKind, &actorID); err != nil {
			t.Fatal(err)
		}
		if actorKind != "customer" || actorID != c.ID {
			t.Fatalf("audited as %s %s", actorKind, actorID)
		}

		// Bad replies store nothing.
		before := h.count(t, `SELECT count(*) FROM messages`)
		for _, in := range []portal.Reply{{Text: "  "}, {Text: strings.Repeat("x", portal.DefaultLimits.TextBytes+1)},
			{Text: "see", Photos: []portal.Photo{photo("a.exe", []byte("MZ\x90\x00"))}}} {
			in.IP = "192.0.2.2"
			if _, err := h.portal.Reply(h.ctx, sess, tk.Key, in); !kefu.IsCode(err, kefu.Invalid) {
				t.Errorf("bad reply: %v", err)
			}
		}
		if after := h.count(t, `SELECT count(*) FROM messages`); after != before {
			t.Fatalf("rejected replies stored %d messages", after-before)
		}

		closed := ticket.Closed
		if _, err := h.tickets.Update(h.ctx, tk.ID, 0, ticket.Patch{Status: &closed}); err != nil {
			t.Fatal(err)
		}
		order, err := h.portal.OrderAccess(h.ctx, portal.OrderSignIn{Order: "SO-5", Email: "anna@example.com", IP: "192.0.2.3"})
		if err != nil {
			t.Fatal(err)
		}
		follow, err := h.portal.Reply(h.ctx, order, tk.Key, portal.Reply{Text: "Hello again", IP: "192.0.2.3"})
		if err != nil {
			t.Fatal(err)
		}
		if follow.ID == tk.ID || follow.FollowUpOf != tk.ID {
			t.Fatalf("closed ticket: got %s, follow-up of %q", follow.Key, follow.FollowUpOf)
		}
		again, err := h.portal.Session(h.ctx, order.Token)
		if err != nil || again.TicketID != follow.ID {
			t.Fatalf("the order session does not follow the follow-up: %+v, %v", again, err)
		}
	})
}

// The portal says when the shop will answer, from the SLA clock, in the
// zone of the shop's calendar or the customer's browser; nothing while it
// is the customer's turn.
func TestPromise(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		h := newHarness(t, db)
		h.customer(t, "Anna", "anna@example.com")
		tk := h.open(t, "anna@example.com", "Zip broken", "SO-5") // Tuesday 09:00 in Shanghai
		sess := h.signIn(t, "anna@example.com")
		v, err := h.portal.Ticket(h.ctx, sess, tk.Key)
		if err != nil {
			t.Fatal(err)
		}
		shanghai, _ := time.LoadLocation("Asia/Shanghai")
		if v.Promise == nil || v.Promise.Kind != "reply" || v.Promise.Overdue || v.Location.String() != "Asia/Shanghai" ||
			v.Promise.At.In(shanghai).Format("Mon 15:04") != "Tue 09:10" {
			t.Fatalf("promise %+v in %v", v.Promise, v.Location)
		}
		// Twenty minutes later it is late, and says so.
		h.clock.Advance(20 * time.Minute)
		if v, _ = h.portal.Ticket(h.ctx, sess, tk.Key); v.Promise == nil || !v.Promise.Overdue {
			t.Fatalf("late promise %+v", v.Promise)
		}
		h.write(t, tk, ticket.NewMessage{Kind: ticket.Reply, Text: "Which size?", Status: ticket.PendingCustomer})
		if v, _ = h.portal.Ticket(h.ctx, sess, tk.Key); v.Stage != portal.WaitingOnYou || v.Promise != nil {
			t.Fatalf("waiting on the customer: %s, %+v", v.Stage, v.Promise)
		}
		if _, err := h.portal.Reply(h.ctx, sess, tk.Key, portal.Reply{Text: "Size M", IP: "192.0.2.1"}); err != nil {
			t.Fatal(err)
		}
		v, _ = h.portal.Ticket(h.ctx, sess, tk.Key)
		if v.Promise == nil || v.Promise.Kind != "reply" || v.Promise.At.In(shanghai).Format("15:04") != "09:50" {
			t.Fatalf("next reply promise %+v", v.Promise)
		}
		// A browser zone wins over the calendar's.
		ch, code := h.requestCode(t, "anna@example.com", "192.0.2.7")
		berlin, err := h.portal.VerifyCode(h.ctx, portal.Verify{Challenge: ch.ID, Code: code, IP: "192.0.2.7", TimeZone: "Europe/Berlin"})
		if err != nil {
			t.Fatal(err)
		}
		if v, _ = h.portal.Ticket(h.ctx, berlin, tk.Key); v.Location.String() != "Europe/Berlin" {
			t.Fatalf("zone %v", v.Location)
		}
	})
}

func keys(ts []*ticket.Ticket) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Key
	}
	return out
}
