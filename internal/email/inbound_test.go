package email_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"strings"
	"testing"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/blob"
	"github.com/kefu-desk/kefu/internal/customer"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/email"
	"github.com/kefu-desk/kefu/internal/email/emailtest"
	"github.com/kefu-desk/kefu/internal/jobs"
	"github.com/kefu-desk/kefu/internal/testclock"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// quiet keeps the channel's info logs out of test output.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type harness struct {
	db        *database.DB
	clock     *testclock.Clock
	ctx       context.Context
	blobs     blob.Store
	tickets   *ticket.Service
	customers *customer.Service
	mailboxes *email.Mailboxes
	queue     *jobs.Queue
	in        *email.Inbound
	out       *email.Outbound
	transport *emailtest.Recorder
	mailbox   *email.Mailbox
}

func newHarness(t testing.TB, db *database.DB) *harness {
	h := &harness{db: db, clock: testclock.New(time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC), time.Millisecond), ctx: kefu.WithActor(context.Background(), kefu.System)}
	now := h.clock.Now
	// The store Kefu runs with (cmd/kefu/app.go): small blobs in the
	// database, large ones as files.
	h.blobs = blob.New(db, t.TempDir(), now)
	h.customers = &customer.Service{DB: db, Now: now}
	h.tickets = &ticket.Service{DB: db, Now: now, Blobs: h.blobs, Customers: h.customers}
	h.mailboxes = &email.Mailboxes{DB: db, Now: now}
	h.queue = &jobs.Queue{DB: db, Now: now}
	h.transport = &emailtest.Recorder{}
	h.out = &email.Outbound{DB: db, Now: now, Jobs: h.queue, Blobs: h.blobs, Transport: h.transport}
	h.in = &email.Inbound{DB: db, Now: now, Blobs: h.blobs, Tickets: h.tickets, Customers: h.customers, Outbound: h.out, Log: quiet}
	h.out.Log = quiet
	h.tickets.Hooks = append(h.tickets.Hooks, h.in, h.out)
	mb, err := h.mailboxes.Create(h.ctx, email.Mailbox{Address: "service@shop.example.cn", DisplayName: "小店客服", IsDefault: true, Enabled: true,
		SMTP:  email.SMTPSettings{Host: "127.0.0.1", Port: 2525, Security: "none"},
		AckZh: "您好 {{name}}，我们已收到您的来信（{{key}}），会尽快回复。", AckEn: "We received your mail ({{key}}) and will answer soon."})
	if err != nil {
		t.Fatal(err)
	}
	h.mailbox = mb
	return h
}

// mail builds a small plain-text message; extra are header lines.
func mail(from, subject, id, body string, extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: service@shop.example.cn\r\nSubject: %s\r\nDate: Mon, 2 Mar 2026 10:00:00 +0800\r\n",
		from, mime.BEncoding.Encode("UTF-8", subject))
	if id != "" {
		fmt.Fprintf(&b, "Message-ID: <%s>\r\n", id)
	}
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	b.WriteString(body + "\r\n")
	return b.String()
}

func (h *harness) receive(t testing.TB, raw, mailboxID string) *email.Received {
	t.Helper()
	r, err := h.in.Receive(h.ctx, email.Delivery{MailboxID: mailboxID, Source: "api"}, strings.NewReader(raw))
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	return r
}

func (h *harness) want(t *testing.T, r *email.Received, outcome string) {
	t.Helper()
	if r.Outcome != outcome {
		t.Fatalf("outcome %s, want %s (problems %v)", r.Outcome, outcome, r.Problems)
	}
}

func (h *harness) messages(t *testing.T, ticketID string) []ticket.Message {
	t.Helper()
	ms, err := h.tickets.Messages(h.ctx, ticketID, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func (h *harness) outbound(t *testing.T, kind string) []*email.Sent {
	t.Helper()
	admin := kefu.WithActor(context.Background(), kefu.Actor{Kind: kefu.ActorStaff, ID: kefu.NewID(), Role: kefu.RoleAdmin, Scopes: []string{"admin"}})
	all, err := h.out.List(admin, "", "", 200)
	if err != nil {
		t.Fatal(err)
	}
	var out []*email.Sent
	for _, s := range all {
		if s.Kind == kind {
			out = append(out, s)
		}
	}
	return out
}

// runJobs runs every pending send job once through the handlers.
func (h *harness) runJobs(t *testing.T) {
	t.Helper()
	recs, err := h.queue.List(h.ctx, jobs.Filter{State: jobs.Pending, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	handlers := h.out.Handlers()
	for _, r := range recs {
		if fn := handlers[r.Kind]; fn != nil {
			r.Attempts = 1
			if err := fn(h.ctx, r); err != nil {
				t.Fatalf("job %s: %v", r.Kind, err)
			}
		}
	}
}

func TestInboundScenarios(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		h := newHarness(t, db)

		// A new mail opens a ticket and is acknowledged in Chinese.
		first := h.receive(t, mail("王芳 <wang.fang@example.cn>", "连衣裙尺码偏小", "m1@example.cn", "收到的连衣裙偏小，想换大一号。"), h.mailbox.ID)
		h.want(t, first, email.NewTicket)
		tk, err := h.tickets.Get(h.ctx, first.TicketID)
		if err != nil {
			t.Fatal(err)
		}
		if tk.Channel != "email" || tk.Subject != "连衣裙尺码偏小" {
			t.Fatalf("ticket %+v", tk)
		}
		if acks := h.outbound(t, "ack"); len(acks) != 1 || acks[0].To != "wang.fang@example.cn" || !strings.Contains(acks[0].Subject, tk.Key) {
			t.Fatalf("acknowledgements %+v", acks)
		}

		// The same mail again, or through a second mailbox, is a duplicate.
		other, err := h.mailboxes.Create(h.ctx, email.Mailbox{Address: "sales@shop.example.cn", Enabled: true})
		if err != nil {
			t.Fatal(err)
		}
		raw := mail("王芳 <wang.fang@example.cn>", "连衣裙尺码偏小", "m1@example.cn", "收到的连衣裙偏小，想换大一号。")
		h.want(t, h.receive(t, raw, h.mailbox.ID), email.Duplicate)
		dup := h.receive(t, raw, other.ID)
		h.want(t, dup, email.Duplicate)
		if dup.TicketID != tk.ID || len(h.messages(t, tk.ID)) != 1 {
			t.Fatalf("duplicate made a message: %+v", dup)
		}

		// The key in the subject threads, from the ticket's customer only.
		byKey := h.receive(t, mail("wang.fang@example.cn", "回复: 连衣裙 ["+tk.Key+"]", "m2@example.cn", "照片见附件"), h.mailbox.ID)
		h.want(t, byKey, email.AddedTo)
		if byKey.TicketID != tk.ID {
			t.Fatalf("threaded by key to %s, want %s", byKey.TicketID, tk.ID)
		}
		stranger := h.receive(t, mail("li@example.cn", "Re: "+tk.Key, "m3@example.cn", "我也要换货"), h.mailbox.ID)
		h.want(t, stranger, email.NewTicket)

		// An agent replies; the reply gets a Message-ID and a send job.
		agentCtx := h.ctx
		_, reply, err := h.tickets.AddMessage(agentCtx, tk.ID, ticket.NewMessage{Kind: ticket.Reply, Text: "请寄回，我们换L码。"})
		if err != nil {
			t.Fatal(err)
		}
		replies := h.outbound(t, "reply")
		if len(replies) != 1 || replies[0].MessageID != reply.ID+"@shop.example.cn" {
			t.Fatalf("reply outbound %+v", replies)
		}
		h.runJobs(t)
		var sentReply *email.Outgoing
		for _, m := range h.transport.Sent() {
			if m.MessageID == replies[0].MessageID {
				sentReply = m
			}
		}
		if sentReply == nil || sentReply.InReplyTo != "m2@example.cn" || sentReply.Subject != "Re: 连衣裙尺码偏小 ["+tk.Key+"]" ||
			len(sentReply.References) != 2 || sentReply.To.Address != "wang.fang@example.cn" || sentReply.From.Address != "service@shop.example.cn" {
			t.Fatalf("sent reply %+v", sentReply)
		}

		// The customer answers the reply: threaded by In-Reply-To even
		// without the key.
		inReply := h.receive(t, mail("wang.fang@example.cn", "好的", "m4@example.cn", "已寄出", "In-Reply-To: <"+replies[0].MessageID+">"), "")
		h.want(t, inReply, email.AddedTo)
		if inReply.TicketID != tk.ID {
			t.Fatalf("In-Reply-To threaded to %s", inReply.TicketID)
		}

		// Closed: a reply within the period reopens, after it opens a
		// linked follow-up.
		closed := ticket.Closed
		if _, err := h.tickets.Update(h.ctx, tk.ID, 0, ticket.Patch{Status: &closed}); err != nil {
			t.Fatal(err)
		}
		h.clock.Advance(13 * 24 * time.Hour)
		reopened := h.receive(t, mail("wang.fang@example.cn", "Re: ["+tk.Key+"]", "m5@example.cn", "还没收到换的货"), "")
		h.want(t, reopened, email.Reopened)
		if got, _ := h.tickets.Get(h.ctx, tk.ID); got.Status != ticket.Open {
			t.Fatalf("reopened ticket is %s", got.Status)
		}
		if _, err := h.tickets.Update(h.ctx, tk.ID, 0, ticket.Patch{Status: &closed}); err != nil {
			t.Fatal(err)
		}
		h.clock.Advance(15 * 24 * time.Hour)
		late := h.receive(t, mail("wang.fang@example.cn", "Re: ["+tk.Key+"]", "m6@example.cn", "又坏了"), "")
		h.want(t, late, email.FollowUp)
		follow, _ := h.tickets.Get(h.ctx, late.TicketID)
		if follow.ID == tk.ID || follow.FollowUpOf != tk.ID {
			t.Fatalf("follow-up %+v", follow)
		}

		// An auto-reply is stored, flagged, and acknowledged by nobody.
		acks := len(h.outbound(t, "ack"))
		auto := h.receive(t, mail("zhao@example.cn", "自动回复: 我正在休假", "m7@example.cn", "我3月10日回来。", "Auto-Submitted: auto-replied"), "")
		h.want(t, auto, email.AutoReply)
		ms := h.messages(t, auto.TicketID)
		if len(ms) != 1 || !ms[0].Automated {
			t.Fatalf("auto-reply messages %+v", ms)
		}
		if n := len(h.outbound(t, "ack")); n != acks {
			t.Fatalf("an auto-reply was acknowledged (%d → %d)", acks, n)
		}

		// A bounce of the reply is noted on its ticket, marks the address
		// failing and opens nothing.
		before := ticketCount(t, h)
		bounce := h.receive(t, bounceMail("wang.fang@example.cn", replies[0].MessageID), "")
		h.want(t, bounce, email.Bounced)
		if bounce.TicketID != tk.ID || ticketCount(t, h) != before {
			t.Fatalf("bounce on %s, tickets %d → %d", bounce.TicketID, before, ticketCount(t, h))
		}
		c, err := h.customers.FindByIdentity(h.ctx, customer.Email, "wang.fang@example.cn")
		if err != nil {
			t.Fatal(err)
		}
		if !c.Identities[0].Failing {
			t.Fatalf("address not failing: %+v", c.Identities)
		}

		// Blocked customers and denied senders are kept, nothing more.
		blocked, reason := true, "abusive"
		if _, err := h.customers.Update(h.ctx, c.ID, 0, customer.Patch{Blocked: &blocked, BlockedReason: &reason}); err != nil {
			t.Fatal(err)
		}
		b := h.receive(t, mail("wang.fang@example.cn", "Re: ["+tk.Key+"]", "m8@example.cn", "!!!"), "")
		h.want(t, b, email.Blocked)
		admin := kefu.WithActor(context.Background(), kefu.Actor{Kind: kefu.ActorStaff, ID: kefu.NewID(), Role: kefu.RoleAdmin, Scopes: []string{"admin"}})
		if _, err := h.mailboxes.Deny(admin, email.DenyEntry{Pattern: "spam.example"}); err != nil {
			t.Fatal(err)
		}
		d := h.receive(t, mail("promo@news.spam.example", "特价", "m9@example.cn", "买买买"), "")
		h.want(t, d, email.Denied)
		if b.TicketID != "" || d.TicketID != "" || ticketCount(t, h) != before {
			t.Fatalf("blocked/denied mail made a ticket: %+v %+v", b, d)
		}
		if _, f, err := h.in.OpenRaw(admin, d.ID); err != nil {
			t.Fatalf("raw of a denied mail: %v", err)
		} else {
			f.Close()
		}

		// The log lists everything, newest first.
		list, err := h.in.List(admin, email.InboundFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 12 || list[0].ID != d.ID {
			t.Fatalf("inbound log has %d entries", len(list))
		}
	})
}

func ticketCount(t *testing.T, h *harness) int {
	var n int
	if err := h.db.Read.QueryRow(`SELECT count(*) FROM tickets`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func bounceMail(rcpt, original string) string {
	return "From: Mail Delivery System <MAILER-DAEMON@mx.example.cn>\r\nTo: service@shop.example.cn\r\n" +
		"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <bounce-" + original + ">\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\nYour mail could not be delivered.\r\n" +
		"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.cn\r\n\r\n" +
		"Final-Recipient: rfc822; " + rcpt + "\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 user unknown\r\n" +
		"--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <" + original + ">\r\nSubject: Re: x\r\n" +
		"--b--\r\n"
}

// refusing is a ticket hook that fails every change while on, as a
// database error in the ticket's transaction would.
type refusing struct{ on bool }

func (r *refusing) TicketChanged(context.Context, *sql.Tx, ticket.Change) error {
	if r.on {
		return errors.New("refused")
	}
	return nil
}

// TestRawMailCommitsWithItsLogEntry checks that the original of every
// mail in the log can be read back byte for byte whatever the mail
// became, and that a mail whose storing fails leaves neither a log entry
// nor its original behind.
func TestRawMailCommitsWithItsLogEntry(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		h := newHarness(t, db)
		fail := &refusing{on: true}
		h.tickets.Hooks = append(h.tickets.Hooks, fail)
		admin := kefu.WithActor(context.Background(), kefu.Actor{Kind: kefu.ActorStaff, ID: kefu.NewID(), Role: kefu.RoleAdmin, Scopes: []string{"admin"}})
		stored := func() (logged, blobs int) {
			t.Helper()
			if err := db.Read.QueryRow(`SELECT (SELECT count(*) FROM inbound_mail), (SELECT count(*) FROM blobs)`).Scan(&logged, &blobs); err != nil {
				t.Fatal(err)
			}
			return logged, blobs
		}

		raw := mail("王芳 <wang.fang@example.cn>", "尺码问题", "raw1@example.cn", "想换大一号。")
		if _, err := h.in.Receive(h.ctx, email.Delivery{MailboxID: h.mailbox.ID, Source: "api"}, strings.NewReader(raw)); err == nil {
			t.Fatal("Receive succeeded although the ticket's transaction failed")
		}
		if logged, blobs := stored(); logged != 0 || blobs != 0 {
			t.Fatalf("a mail that was not stored left %d log entries and %d blobs", logged, blobs)
		}

		fail.on = false
		// The same mail forwarded is a duplicate, and other bytes.
		for _, c := range []struct{ outcome, mail string }{
			{email.NewTicket, raw},
			{email.Duplicate, strings.Replace(raw, "To:", "X-Forwarded-By: sales@shop.example.cn\r\nTo:", 1)},
			{email.Denied, mail("no address", "?", "raw2@example.cn", "?")},
		} {
			outcome, m := c.outcome, c.mail
			r := h.receive(t, m, h.mailbox.ID)
			h.want(t, r, outcome)
			_, f, err := h.in.OpenRaw(admin, r.ID)
			if err != nil {
				t.Fatalf("%s: original: %v", outcome, err)
			}
			got, _ := io.ReadAll(f)
			f.Close()
			if string(got) != m {
				t.Fatalf("%s: original read back as %q", outcome, got)
			}
		}
		if logged, blobs := stored(); logged != 3 || blobs != 3 {
			t.Fatalf("three mails: %d log entries, %d blobs", logged, blobs)
		}
	})
}
