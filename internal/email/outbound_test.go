package email_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/email"
	"github.com/kefu-desk/kefu/internal/jobs"
	"github.com/kefu-desk/kefu/internal/team"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// One address gets at most five acknowledgements an hour, however many
// new tickets it opens; the next hour it gets them again.
func TestAcknowledgementLoopProtection(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		h := newHarness(t, db)
		for i := range 7 {
			h.want(t, h.receive(t, mail("robot@example.com", fmt.Sprintf("Ticket %d", i), fmt.Sprintf("loop-%d@example.com", i), "hello"), ""), email.NewTicket)
		}
		if n := len(h.outbound(t, "ack")); n != email.DefaultAckLimit {
			t.Fatalf("%d acknowledgements in an hour, want %d", n, email.DefaultAckLimit)
		}
		h.clock.Advance(61 * 60e9)
		h.receive(t, mail("robot@example.com", "Later", "loop-late@example.com", "hello"), "")
		if n := len(h.outbound(t, "ack")); n != email.DefaultAckLimit+1 {
			t.Fatalf("%d acknowledgements after an hour", n)
		}
		// English customers get the English template with the key.
		h.runJobs(t)
		var ack *email.Outgoing
		for _, m := range h.transport.Sent() {
			ack = m
		}
		if ack == nil || !strings.HasPrefix(ack.Text, "We received your mail (KF-") || !ack.Automatic {
			t.Fatalf("acknowledgement %+v", ack)
		}
	})
}

// email.notify (enqueued by the SLA engine) mails the staff member from
// the default mailbox, once per job.
func TestStaffNotice(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		h := newHarness(t, db)
		staff, err := (&team.Service{DB: db, Now: h.clock.Now}).CreateStaff(h.ctx, team.NewStaff{Email: "li.na@shop.example.cn", Name: "李娜", Role: kefu.RoleAgent})
		if err != nil {
			t.Fatal(err)
		}
		payload, _ := json.Marshal(map[string]string{"staff_id": staff.ID, "text": "KF-10001 \"拉链坏了\": first response was due 10:00 and is overdue"})
		if _, err := h.queue.Enqueue(h.ctx, db.Write, jobs.Job{Kind: email.NotifyKind, Payload: json.RawMessage(payload), Key: "ev1:" + staff.ID}); err != nil {
			t.Fatal(err)
		}
		h.runJobs(t)
		h.runJobs(t) // a second run of the same job sends nothing more
		if len(h.transport.Sent()) != 1 {
			t.Fatalf("%d notices sent", len(h.transport.Sent()))
		}
		m := h.transport.Sent()[0]
		if m.To.Address != "li.na@shop.example.cn" || m.From.Address != "service@shop.example.cn" || !strings.Contains(m.Subject, "KF-10001") {
			t.Fatalf("notice %+v", m)
		}
	})
}

// Without a mailbox a staff notice stays in the console: the job finishes
// quietly instead of failing, as there is nothing for anyone to fix.
func TestStaffNoticeWithoutMailbox(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		h := newHarness(t, db)
		if err := h.mailboxes.Delete(h.ctx, h.mailbox.ID); err != nil {
			t.Fatal(err)
		}
		staff, err := (&team.Service{DB: db, Now: h.clock.Now}).CreateStaff(h.ctx, team.NewStaff{Email: "li.na@shop.example.cn", Name: "李娜", Role: kefu.RoleAgent})
		if err != nil {
			t.Fatal(err)
		}
		payload, _ := json.Marshal(map[string]string{"staff_id": staff.ID, "text": "KF-10001 is overdue"})
		if _, err := h.queue.Enqueue(h.ctx, db.Write, jobs.Job{Kind: email.NotifyKind, Payload: json.RawMessage(payload)}); err != nil {
			t.Fatal(err)
		}
		recs, _ := h.queue.List(h.ctx, jobs.Filter{Kind: email.NotifyKind})
		if len(recs) != 1 {
			t.Fatalf("%d notify jobs", len(recs))
		}
		if err := h.out.Handlers()[email.NotifyKind](h.ctx, recs[0]); err != nil {
			t.Fatalf("notice without a mailbox: %v, want it to finish", err)
		}
		if len(h.transport.Sent()) != 0 {
			t.Fatalf("%d notices sent without a mailbox", len(h.transport.Sent()))
		}
	})
}

// A 5xx answer fails a reply at once: the ticket says so, and the admin
// list shows it.
func TestPermanentSendFailure(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		h := newHarness(t, db)
		h.mailbox, _ = h.mailboxes.Update(h.ctx, h.mailbox.ID, 0, email.Mailbox{Address: h.mailbox.Address, Enabled: true, IsDefault: true,
			SMTP: h.mailbox.SMTP})
		rec := h.receive(t, mail("gone@example.cn", "退货", "gone-1@example.cn", "退货"), "")
		if _, _, err := h.tickets.AddMessage(h.ctx, rec.TicketID, ticket.NewMessage{Kind: ticket.Reply, Text: "好的"}); err != nil {
			t.Fatal(err)
		}
		h.transport.Fail(smtp550{})
		recs, _ := h.queue.List(h.ctx, jobs.Filter{Kind: email.SendKind})
		if len(recs) != 1 {
			t.Fatalf("%d send jobs", len(recs))
		}
		err := h.out.Handlers()[email.SendKind](h.ctx, recs[0])
		if err == nil || !strings.Contains(err.Error(), "550") {
			t.Fatalf("handler: %v", err)
		}
		replies := h.outbound(t, "reply")
		if replies[0].State != "failed" {
			t.Fatalf("state %s", replies[0].State)
		}
		ms := h.messages(t, rec.TicketID)
		if last := ms[len(ms)-1]; last.Kind != ticket.Event || !strings.HasPrefix(last.Text, "delivery failed: reply to gone@example.cn") {
			t.Fatalf("last message %+v", last)
		}
	})
}

// smtp550 looks like go-mail's error for a permanent refusal.
type smtp550 struct{}

func (smtp550) Error() string  { return "550 5.1.1 <gone@example.cn>: Recipient address rejected" }
func (smtp550) IsTemp() bool   { return false }
func (smtp550) ErrorCode() int { return 550 }

// A mail Kefu sent that comes back to the mailbox (a Bcc, a forwarding
// loop) carries a Message-ID a ticket message already has: it is logged,
// not stored again, and does not stop the import.
func TestOwnMailComingBack(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		h := newHarness(t, db)
		rec := h.receive(t, mail("wang@example.cn", "退货", "own-1@example.cn", "退货"), "")
		_, reply, err := h.tickets.AddMessage(h.ctx, rec.TicketID, ticket.NewMessage{Kind: ticket.Reply, Text: "好的"})
		if err != nil {
			t.Fatal(err)
		}
		before := len(h.messages(t, rec.TicketID))
		back := h.receive(t, mail("service@shop.example.cn", "Re: 退货", reply.ID+"@shop.example.cn", "好的"), "")
		h.want(t, back, email.Duplicate)
		if n := len(h.messages(t, rec.TicketID)); n != before || ticketCount(t, h) != 1 {
			t.Fatalf("%d messages on the ticket (was %d), %d tickets", n, before, ticketCount(t, h))
		}
	})
}

// Whatever a mail's header holds, a customer's mail is stored: an
// over-long display name and subject are cut, an empty body is filled.
func TestUnusualHeadersStillStore(t *testing.T) {
	h := newHarness(t, databasetest.Open(t, "sqlite"))
	name := strings.Repeat("很长的名字", 30)
	raw := "From: " + name + " <long@example.cn>\r\nSubject: " + strings.Repeat("退货", 300) + "\r\nMessage-ID: <odd-1@example.cn>\r\n\r\n"
	rec := h.receive(t, raw, "")
	h.want(t, rec, email.NewTicket)
	ms := h.messages(t, rec.TicketID)
	if ms[0].Text != "(no text)" {
		t.Errorf("text %q", ms[0].Text)
	}
}
