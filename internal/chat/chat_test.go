package chat_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/blob"
	"github.com/kefu-desk/kefu/internal/calendar"
	"github.com/kefu-desk/kefu/internal/chat"
	"github.com/kefu-desk/kefu/internal/customer"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/email"
	"github.com/kefu-desk/kefu/internal/email/emailtest"
	"github.com/kefu-desk/kefu/internal/events"
	"github.com/kefu-desk/kefu/internal/jobs"
	"github.com/kefu-desk/kefu/internal/sla"
	"github.com/kefu-desk/kefu/internal/team"
	"github.com/kefu-desk/kefu/internal/testclock"
	"github.com/kefu-desk/kefu/internal/ticket"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type env struct {
	db        *database.DB
	clock     *testclock.Clock
	ctx       context.Context // the system actor
	tickets   *ticket.Service
	customers *customer.Service
	cals      *calendar.Service
	sla       *sla.Service
	queue     *jobs.Queue
	out       *email.Outbound
	transport *emailtest.Recorder
	bus       *events.Bus
	chat      *chat.Service
	team      *team.Service
	agents    []kefu.Actor
}

// newEnv wires chat as Kefu does: the ticket service with the SLA engine,
// the event bus and the email outbox as hooks, chat last.
func newEnv(t testing.TB, db *database.DB) *env {
	t.Helper()
	// 10:00 on a Tuesday in Shanghai.
	e := &env{db: db, clock: testclock.New(time.Date(2026, 3, 3, 2, 0, 0, 0, time.UTC), 0), ctx: kefu.WithActor(context.Background(), kefu.System)}
	now := e.clock.Now
	blobs := blob.Dir{Root: t.TempDir()}
	e.customers = &customer.Service{DB: db, Now: now}
	e.tickets = &ticket.Service{DB: db, Now: now, Blobs: blobs, Customers: e.customers}
	e.cals = &calendar.Service{DB: db, Now: now}
	e.queue = &jobs.Queue{DB: db, Now: now}
	e.sla = &sla.Service{DB: db, Now: now, Calendars: e.cals, Tickets: e.tickets}
	e.transport = &emailtest.Recorder{}
	e.out = &email.Outbound{DB: db, Now: now, Jobs: e.queue, Blobs: blobs, Transport: e.transport, Log: quiet}
	e.bus = events.New(db, quiet)
	t.Cleanup(e.bus.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.bus.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	e.chat = &chat.Service{DB: db, Now: now, Tickets: e.tickets, Customers: e.customers, Calendars: e.cals, SLA: e.sla,
		Bus: e.bus, Mail: e.out, Log: quiet}
	e.chat.Init()
	e.tickets.Hooks = append(e.tickets.Hooks, e.sla, events.Hook{Bus: e.bus}, e.out, e.chat)
	e.team = &team.Service{DB: db, Now: now}
	for i, name := range []string{"李娜", "Wang Wei"} {
		st, err := e.team.CreateStaff(e.ctx, team.NewStaff{Email: fmt.Sprintf("agent%d@shop.example", i), Name: name, Role: kefu.RoleAgent})
		if err != nil {
			t.Fatal(err)
		}
		a, err := e.team.ActorFor(e.ctx, st.ID)
		if err != nil {
			t.Fatal(err)
		}
		e.agents = append(e.agents, a)
	}
	mb := &email.Mailboxes{DB: db, Now: now}
	if _, err := mb.Create(e.ctx, email.Mailbox{Address: "service@shop.example", DisplayName: "Shop", IsDefault: true, Enabled: true,
		SMTP: email.SMTPSettings{Host: "127.0.0.1", Port: 2525, Security: "none"}}); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) as(i int) context.Context { return kefu.WithActor(context.Background(), e.agents[i]) }

// online marks agent i's console as seen now, as the console's stream does.
func (e *env) online(t testing.TB, i int) {
	t.Helper()
	_, err := e.db.Write.ExecContext(e.ctx, `INSERT INTO staff_presence (staff_id, status, last_seen) VALUES ($1, 'online', $2)
		ON CONFLICT (staff_id) DO UPDATE SET status = 'online', last_seen = excluded.last_seen`, e.agents[i].ID, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
}

func (e *env) session(t testing.TB, in chat.SessionInput) *chat.Session {
	t.Helper()
	s, err := e.chat.Session(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (e *env) send(t testing.TB, v *chat.Visitor, in chat.Message) *chat.Sent {
	t.Helper()
	s, err := e.chat.Send(context.Background(), v, in)
	if err != nil {
		t.Fatalf("send %q: %v", in.Text, err)
	}
	return s
}

func prechat(name, mail string) *chat.Prechat { return &chat.Prechat{Name: name, Email: mail} }

// texts lists the message texts of events, "kind:text" for messages and
// "state:…" for state changes.
func texts(evs []chat.Event) []string {
	var out []string
	for _, e := range evs {
		switch {
		case e.Kind == chat.KindMessage && e.Message != nil:
			out = append(out, string(e.Message.Kind)+":"+e.Message.Text)
		case e.Kind == chat.KindState:
			out = append(out, "state:"+string(e.Data.State)+":"+e.Data.AgentName)
		default:
			out = append(out, e.Kind)
		}
	}
	return out
}

func wantCode(t *testing.T, err error, code kefu.Code) {
	t.Helper()
	if !kefu.IsCode(err, code) {
		t.Fatalf("err = %v; want %s", err, code)
	}
}

// A returning visitor's token brings back the same conversation; a
// visitor without one starts afresh; a shop's signed shopper id finds the
// same visitor on another device, and a forged one is refused.
func TestConversationContinuesByToken(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		e.online(t, 0)
		first := e.session(t, chat.SessionInput{Language: "zh-CN", IP: "203.0.113.7"})
		if first.Conversation != nil || first.Token == "" {
			t.Fatalf("a new visitor has conversation %+v, token %q", first.Conversation, first.Token)
		}
		sent := e.send(t, first.Visitor, chat.Message{Text: "这件外套有 L 码吗？", Prechat: &chat.Prechat{Name: "王芳", Phone: "+86 138 0013 8000", OrderNumber: "#so-1001"}, PageURL: "https://shop.example/coat"})
		if sent.Conversation.State != chat.Queued || sent.Seq != 1 {
			t.Fatalf("first message: %+v seq %d", sent.Conversation, sent.Seq)
		}
		tk, err := e.tickets.Get(e.ctx, sent.Conversation.TicketID)
		if err != nil {
			t.Fatal(err)
		}
		if tk.Channel != "chat" || tk.OrderNumber != "SO-1001" || tk.Subject != "这件外套有 L 码吗？" || tk.Status != ticket.New {
			t.Fatalf("chat ticket %+v", tk)
		}

		back := e.session(t, chat.SessionInput{Token: first.Token, Language: "zh-CN"})
		if back.Visitor.ID != first.Visitor.ID || back.Conversation == nil || back.Conversation.ID != sent.Conversation.ID {
			t.Fatalf("returning visitor got %+v / %+v", back.Visitor, back.Conversation)
		}
		if got := texts(back.Events); strings.Join(got, "|") != "customer:这件外套有 L 码吗？|state:queued:" {
			t.Fatalf("history %q", got)
		}
		// The second message needs no pre-chat form and joins the ticket.
		again := e.send(t, back.Visitor, chat.Message{Text: "要黑色的"})
		if again.Conversation.TicketID != tk.ID || again.Seq != 3 {
			t.Fatalf("second message went to %+v seq %d", again.Conversation, again.Seq)
		}
		// The token is signed: changing a character makes a new visitor.
		forged := first.Token[:len(first.Token)-2] + "xx"
		if other := e.session(t, chat.SessionInput{Token: forged}); other.Visitor.ID == first.Visitor.ID {
			t.Fatal("a forged token resumed the visitor")
		}
		if _, err := e.chat.Authenticate(context.Background(), forged); !kefu.IsCode(err, kefu.Unauthorized) {
			t.Fatalf("forged token authenticated: %v", err)
		}
		// Tokens expire unless renewed.
		e.clock.Advance(chat.TokenLifetime + time.Hour)
		if _, err := e.chat.Authenticate(context.Background(), back.Token); !kefu.IsCode(err, kefu.Unauthorized) {
			t.Fatalf("expired token authenticated: %v", err)
		}

		st, err := e.chat.SettingsForAdmin(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		shopper := &chat.Shopper{ID: "cust-88", Signature: chat.SignCustomer(st.IdentitySecret, "cust-88"), Name: "Anna", Email: "anna@example.com"}
		phone := e.session(t, chat.SessionInput{Shopper: shopper})
		e.send(t, phone.Visitor, chat.Message{Text: "Where is my parcel?"})
		laptop := e.session(t, chat.SessionInput{Shopper: shopper})
		if laptop.Visitor.ID != phone.Visitor.ID || laptop.Conversation == nil || len(laptop.Events) == 0 {
			t.Fatalf("the signed-in shopper on another device: %+v %+v", laptop.Visitor, laptop.Conversation)
		}
		bad := *shopper
		bad.ID = "cust-89"
		if _, err := e.chat.Session(context.Background(), chat.SessionInput{Shopper: &bad}); !kefu.IsCode(err, kefu.Unauthorized) {
			t.Fatalf("a signature for another id was accepted: %v", err)
		}
	})
}

// With nobody online, or outside the chat calendar's hours, the widget
// says when the team is back and the message becomes a ticket answered
// by email.
func TestOfflineMessageBecomesTicketAnsweredByEmail(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		a, err := e.chat.Availability(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if a.Available() || a.AgentsOnline != 0 || !a.Open {
			t.Fatalf("nobody online: %+v", a)
		}
		s := e.session(t, chat.SessionInput{})
		_, err = e.chat.Send(context.Background(), s.Visitor, chat.Message{Text: "Hello?", Prechat: &chat.Prechat{Name: "Tom", Phone: "+44 20 7946 0000"}})
		wantCode(t, err, kefu.Invalid)
		if !strings.Contains(err.Error(), "email") {
			t.Fatalf("refusal names %v", err)
		}
		var n int
		db.Read.QueryRow(`SELECT count(*) FROM tickets`).Scan(&n)
		if n != 0 {
			t.Fatalf("a refused message left %d tickets", n)
		}
		sent := e.send(t, s.Visitor, chat.Message{Text: "Do you ship to Norway?", Prechat: prechat("Tom", "tom@example.com")})
		if sent.Conversation.State != chat.Offline {
			t.Fatalf("state %s", sent.Conversation.State)
		}
		queue, err := e.chat.Queue(e.as(0), 10)
		if err != nil || len(queue) != 0 {
			t.Fatalf("an offline message is queued: %v %v", queue, err)
		}
		// The agent answers it in the console like any ticket; the answer
		// is mailed and also shows in the widget.
		_, reply, err := e.tickets.AddMessage(e.as(0), sent.Conversation.TicketID, ticket.NewMessage{Kind: ticket.Reply, Text: "Yes, in 5–7 days."})
		if err != nil {
			t.Fatal(err)
		}
		var to, kind string
		if err := db.Read.QueryRow(`SELECT to_address, kind FROM outbound_mail WHERE message_ref = $1`, reply.ID).Scan(&to, &kind); err != nil {
			t.Fatalf("the reply was not queued for mailing: %v", err)
		}
		if to != "tom@example.com" || kind != "reply" {
			t.Fatalf("mailed %s to %s", kind, to)
		}
		evs, err := e.chat.History(context.Background(), sent.Conversation.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(texts(evs), "|"); got != "customer:Do you ship to Norway?|state:offline:|reply:Yes, in 5–7 days." {
			t.Fatalf("widget history %q", got)
		}

		// Outside the calendar's hours chat is closed even with an agent
		// online, and the widget learns the next opening.
		cal, err := e.cals.Create(e.ctx, calendar.Spec{Name: "Shanghai office", Timezone: "Asia/Shanghai",
			Weekly: calendar.Week{"mon": {{"09:00", "18:00"}}, "tue": {{"09:00", "18:00"}}, "wed": {{"09:00", "18:00"}}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.chat.SaveSettings(e.ctx, 0, chat.SettingsInput{Enabled: true, Hours: chat.HoursCalendar, CalendarID: cal.ID}); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(9 * time.Hour) // 19:00 on Tuesday
		e.online(t, 0)
		a, err = e.chat.Availability(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := time.Date(2026, 3, 4, 1, 0, 0, 0, time.UTC) // Wednesday 09:00 in Shanghai
		if a.Open || a.Available() || a.BackAt == nil || !a.BackAt.Equal(want) || a.AgentsOnline != 1 {
			t.Fatalf("after hours: %+v (back %v, want %v)", a, a.BackAt, want)
		}
		late := e.session(t, chat.SessionInput{})
		if got := e.send(t, late.Visitor, chat.Message{Text: "Still open?", Prechat: prechat("Kim", "kim@example.com")}); got.Conversation.State != chat.Offline {
			t.Fatalf("after hours the chat is %s", got.Conversation.State)
		}
	})
}

// The same policy's calendar governs chat when the settings say "sla".
func TestHoursFollowTheSLAPolicyCalendar(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		e.online(t, 0)
		cal, err := e.cals.Create(e.ctx, calendar.Spec{Name: "Weekends only", Timezone: "Asia/Shanghai",
			Weekly: calendar.Week{"sat": {{"10:00", "16:00"}}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.sla.CreatePolicy(e.ctx, sla.Policy{Name: "Chat", CalendarID: cal.ID, Definition: sla.Definition{
			Match: sla.Match{Channels: []string{"chat"}}, Targets: []sla.Target{{Kind: sla.FirstResponse, Minutes: 5, Unit: sla.Business}}}}); err != nil {
			t.Fatal(err)
		}
		a, err := e.chat.Availability(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if a.Open || a.BackAt == nil || !a.BackAt.Equal(time.Date(2026, 3, 7, 2, 0, 0, 0, time.UTC)) {
			t.Fatalf("availability %+v, back %v", a, a.BackAt)
		}
	})
}

// Messages come at a person's pace: a script sending faster is held back,
// and a person waiting a moment may go on. The same holds per address.
func TestRateLimits(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		e.online(t, 0)
		s := e.session(t, chat.SessionInput{})
		burst := chat.DefaultLimits.VisitorBurst
		e.send(t, s.Visitor, chat.Message{Text: "1", Prechat: prechat("Ann", "ann@example.com")})
		for i := 2; i <= burst; i++ {
			e.send(t, s.Visitor, chat.Message{Text: fmt.Sprint(i)})
		}
		_, err := e.chat.Send(context.Background(), s.Visitor, chat.Message{Text: "one too many"})
		wantCode(t, err, kefu.RateLimited)
		var n int
		db.Read.QueryRow(`SELECT count(*) FROM messages WHERE kind = 'customer'`).Scan(&n)
		if n != burst {
			t.Fatalf("%d messages stored; want %d", n, burst)
		}
		// Another visitor is not held back by the first.
		other := e.session(t, chat.SessionInput{})
		e.send(t, other.Visitor, chat.Message{Text: "hi", Prechat: prechat("Bo", "bo@example.com")})
		e.clock.Advance(2 * time.Second)
		e.send(t, s.Visitor, chat.Message{Text: "after a pause"})

		for i := 0; i < chat.DefaultLimits.IPBurst; i++ {
			if err := e.chat.CheckIP("198.51.100.1"); err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
		}
		wantCode(t, e.chat.CheckIP("198.51.100.1"), kefu.RateLimited)
		if err := e.chat.CheckIP("198.51.100.2"); err != nil {
			t.Fatal(err)
		}
		// New visitors from one address are limited too; returning ones
		// (with a token) are not.
		for i := 0; i < chat.DefaultLimits.StartBurst; i++ {
			e.session(t, chat.SessionInput{IP: "192.0.2.9"})
		}
		_, err = e.chat.Session(context.Background(), chat.SessionInput{IP: "192.0.2.9"})
		wantCode(t, err, kefu.RateLimited)
		e.session(t, chat.SessionInput{IP: "192.0.2.9", Token: s.Token})

		// Size and type limits.
		_, err = e.chat.Send(context.Background(), other.Visitor, chat.Message{Text: strings.Repeat("长", chat.DefaultLimits.MessageBytes)})
		wantCode(t, err, kefu.Invalid)
		e.clock.Advance(time.Minute)
		_, err = e.chat.Send(context.Background(), other.Visitor, chat.Message{Files: []chat.Upload{{Filename: "run.sh", Size: 10, Content: strings.NewReader("#!/bin/sh\nrm -rf /\n")}}})
		wantCode(t, err, kefu.Invalid)
		big := chat.DefaultLimits.FileBytes + 1
		_, err = e.chat.Send(context.Background(), other.Visitor, chat.Message{Files: []chat.Upload{{Filename: "huge.png", Size: big, Content: io.MultiReader(bytes.NewReader(png), zeros{})}}})
		wantCode(t, err, kefu.TooLarge)
		// A file whose declared size lies is held to the limit as it is read.
		_, err = e.chat.Send(context.Background(), other.Visitor, chat.Message{Files: []chat.Upload{{Filename: "liar.png", Size: 100, Content: io.LimitReader(io.MultiReader(bytes.NewReader(png), zeros{}), big)}}})
		wantCode(t, err, kefu.TooLarge)
		photo := e.send(t, other.Visitor, chat.Message{Text: "the stain", Files: []chat.Upload{{Filename: "污渍.jpg", Size: int64(len(png)), Content: bytes.NewReader(png)}}})
		evs, err := e.chat.EventsAfter(e.ctx, photo.Conversation.ID, photo.Seq-1, true, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 || evs[0].Message == nil || len(evs[0].Message.Attachments) != 1 || evs[0].Message.Attachments[0].ContentType != "image/png" {
			t.Fatalf("the photo: %+v", evs)
		}
		att := evs[0].Message.Attachments[0]
		sig, _ := e.chat.AttachmentSig(context.Background(), other.Visitor.ID, att.ID)
		if _, f, err := e.chat.OpenAttachment(context.Background(), other.Visitor.ID, att.ID, sig); err != nil {
			t.Fatal(err)
		} else {
			f.Close()
		}
		if _, _, err := e.chat.OpenAttachment(context.Background(), s.Visitor.ID, att.ID, sig); !kefu.IsCode(err, kefu.NotFound) {
			t.Fatalf("another visitor opened the photo: %v", err)
		}
	})
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// A 1×1 PNG (the bytes say so, whatever the file is called).
var png = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")

// A blocked customer gets a polite refusal and nothing is stored, whether
// they start a chat or were blocked mid-chat.
func TestBlockedCustomerIsRefused(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		e.online(t, 0)
		block := func(id string) {
			t.Helper()
			yes, why := true, "abusive language"
			if _, err := e.customers.Update(e.ctx, id, 0, customer.Patch{Blocked: &yes, BlockedReason: &why}); err != nil {
				t.Fatal(err)
			}
		}
		c, err := e.customers.Create(e.ctx, customer.NewCustomer{Name: "Troll", Identities: []customer.NewIdent{{Kind: customer.Email, Value: "troll@example.com"}}})
		if err != nil {
			t.Fatal(err)
		}
		block(c.ID)
		s := e.session(t, chat.SessionInput{})
		_, err = e.chat.Send(context.Background(), s.Visitor, chat.Message{Text: "hi", Prechat: prechat("T", "TROLL@example.com")})
		if !errors.Is(err, chat.Blocked) || kefu.ErrorCode(err) != kefu.Forbidden {
			t.Fatalf("blocked customer: %v", err)
		}
		if strings.Contains(err.Error(), "abusive") {
			t.Fatal("the refusal tells the visitor why staff blocked them")
		}

		s2 := e.session(t, chat.SessionInput{})
		sent := e.send(t, s2.Visitor, chat.Message{Text: "first", Prechat: prechat("Ed", "ed@example.com")})
		tk, _ := e.tickets.Get(e.ctx, sent.Conversation.TicketID)
		block(tk.CustomerID)
		_, err = e.chat.Send(context.Background(), s2.Visitor, chat.Message{Text: "second"})
		if !errors.Is(err, chat.Blocked) {
			t.Fatalf("blocked mid-chat: %v", err)
		}
		evs, _ := e.chat.History(context.Background(), sent.Conversation.ID)
		if got := strings.Join(texts(evs), "|"); got != "customer:first|state:queued:" {
			t.Fatalf("after the refusal the chat holds %q", got)
		}
	})
}

// A stream that saw events up to n and dropped gets, on coming back with
// n, exactly the events after n: the visitor only the public ones, the
// console everything, and the hub wakes both as events arrive.
func TestResumeAfterDropReplaysExactlyTheMissed(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		e.online(t, 0)
		hub := chat.NewHub(e.chat)
		defer hub.Close()
		s := e.session(t, chat.SessionInput{})
		first := e.send(t, s.Visitor, chat.Message{Text: "q1", Prechat: prechat("Zoe", "zoe@example.com")})
		conv := first.Conversation
		visitor := hub.Listen(conv.ID, true)
		console := hub.Listen(conv.ID, false)
		if _, err := e.chat.Accept(e.as(0), conv.TicketID); err != nil {
			t.Fatal(err)
		}
		waitHint(t, visitor, 3)
		seen := visitor.Take().Hint // the visitor's stream has shown 1..3
		hub.Leave(visitor)          // and drops

		e.send(t, s.Visitor, chat.Message{Text: "q2"})
		if _, _, err := e.tickets.AddMessage(e.as(0), conv.TicketID, ticket.NewMessage{Kind: ticket.Note, Text: "check stock"}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.tickets.AddMessage(e.as(0), conv.TicketID, ticket.NewMessage{Kind: ticket.Reply, Text: "a1"}); err != nil {
			t.Fatal(err)
		}
		if err := e.chat.ReadByVisitor(context.Background(), s.Visitor, 6); err != nil {
			t.Fatal(err)
		}
		waitHint(t, console, 7)

		missed, err := e.chat.EventsAfter(kefu.WithActor(context.Background(), kefu.System), conv.ID, seen, true, 100)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(texts(missed), "|"); got != "customer:q2|reply:a1" {
			t.Fatalf("the visitor's stream resumed with %q", got)
		}
		if missed[0].Seq != seen+1 {
			t.Fatalf("resumed at %d after %d", missed[0].Seq, seen)
		}
		all, err := e.chat.EventsAfter(e.as(0), conv.ID, seen, false, 100)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(texts(all), "|"); got != "customer:q2|note:check stock|reply:a1|read" {
			t.Fatalf("the console's stream resumed with %q", got)
		}
		for i, ev := range all {
			if ev.Seq != seen+1+int64(i) {
				t.Fatalf("event numbers %d… are not consecutive after %d", ev.Seq, seen)
			}
		}
		// Nothing after the last one.
		if rest, _ := e.chat.EventsAfter(e.as(0), conv.ID, all[len(all)-1].Seq, false, 100); len(rest) != 0 {
			t.Fatalf("events after the last: %v", texts(rest))
		}
	})
}

func waitHint(t testing.TB, l *chat.Listener, seq int64) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	var got int64
	for got < seq {
		select {
		case <-l.Wake():
			got = l.Take().Hint
		case <-deadline:
			t.Fatalf("woken up to event %d; want %d", got, seq)
		}
	}
}

// Two agents accepting the same chat at once: one gets it, the other is
// told who was faster, and the ticket is the winner's.
func TestAcceptIsFirstComeFirstServed(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		e.online(t, 0)
		e.online(t, 1)
		s := e.session(t, chat.SessionInput{})
		sent := e.send(t, s.Visitor, chat.Message{Text: "hi", Prechat: prechat("Ann", "ann@example.com")})
		e.clock.Advance(40 * time.Second)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range 2 {
			wg.Go(func() { _, errs[i] = e.chat.Accept(e.as(i), sent.Conversation.TicketID) })
		}
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil:
				winner = i
			case !kefu.IsCode(err, kefu.Conflict) || !strings.Contains(err.Error(), "has already accepted"):
				t.Fatalf("agent %d: %v", i, err)
			}
		}
		if winner < 0 || (errs[0] == nil) == (errs[1] == nil) {
			t.Fatalf("accepts: %v", errs)
		}
		tk, _ := e.tickets.Get(e.ctx, sent.Conversation.TicketID)
		if tk.AssigneeID != e.agents[winner].ID {
			t.Fatalf("ticket assigned to %s; %s accepted", tk.AssigneeID, e.agents[winner].ID)
		}
		mine, err := e.chat.Mine(e.as(winner))
		if err != nil || len(mine) != 1 || mine[0].CustomerName != "Ann" {
			t.Fatalf("winner's chats %+v %v", mine, err)
		}
		var waited int
		db.Read.QueryRow(`SELECT count(*) FROM chat_waits`).Scan(&waited)
		if waited != 1 {
			t.Fatalf("%d accept times recorded", waited)
		}
		evs, _ := e.chat.History(context.Background(), sent.Conversation.ID)
		if got := texts(evs); got[len(got)-1] != "state:active:"+e.agents[winner].Name {
			t.Fatalf("the visitor saw %q", got)
		}
	})
}

// The chat is a ticket: assigning it elsewhere transfers it, clearing the
// assignee puts it back in the queue, solving ends it, and the visitor
// writing again brings it back; after the ticket is closed the
// conversation carries on in the follow-up ticket.
func TestChatFollowsItsTicket(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		e.online(t, 0)
		s := e.session(t, chat.SessionInput{Language: "en"})
		sent := e.send(t, s.Visitor, chat.Message{Text: "zip broke", Prechat: prechat("Ann", "ann@example.com")})
		id := sent.Conversation.TicketID
		if _, err := e.chat.Accept(e.as(0), id); err != nil {
			t.Fatal(err)
		}
		other := e.agents[1].ID
		if _, err := e.tickets.Update(e.as(0), id, 0, ticket.Patch{AssigneeID: &other}); err != nil {
			t.Fatal(err)
		}
		conv := state(t, e, s)
		if conv.State != chat.Active || conv.AgentID != other {
			t.Fatalf("after transfer %+v", conv)
		}
		none := ""
		if _, err := e.tickets.Update(e.as(1), id, 0, ticket.Patch{AssigneeID: &none}); err != nil {
			t.Fatal(err)
		}
		if conv = state(t, e, s); conv.State != chat.Queued {
			t.Fatalf("handed back: %s", conv.State)
		}
		if _, err := e.chat.Accept(e.as(1), id); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.tickets.AddMessage(e.as(1), id, ticket.NewMessage{Kind: ticket.Reply, Text: "A new zip is on its way.", Status: ticket.Solved}); err != nil {
			t.Fatal(err)
		}
		if conv = state(t, e, s); conv.State != chat.Ended {
			t.Fatalf("solved: %s", conv.State)
		}
		evs, _ := e.chat.History(context.Background(), conv.ID)
		want := "customer:zip broke|state:queued:|state:active:李娜|state:active:Wang Wei|state:queued:|state:active:Wang Wei|reply:A new zip is on its way.|state:ended:"
		if got := strings.Join(texts(evs), "|"); got != want {
			t.Fatalf("the visitor saw\n%s\nwant\n%s", got, want)
		}
		again := e.send(t, s.Visitor, chat.Message{Text: "thanks, one more thing"})
		if again.Conversation.State != chat.Queued || again.Conversation.TicketID != id {
			t.Fatalf("writing again: %+v", again.Conversation)
		}
		tk, _ := e.tickets.Get(e.ctx, id)
		if tk.Status != ticket.Open {
			t.Fatalf("the solved ticket is %s", tk.Status)
		}
		// The same agent accepting again changes nothing on the ticket.
		if c, err := e.chat.Accept(e.as(1), id); err != nil || c.State != chat.Active {
			t.Fatalf("re-accept: %+v %v", c, err)
		}
		closed := ticket.Closed
		if _, err := e.tickets.Update(e.as(1), id, 0, ticket.Patch{Status: &closed}); err != nil {
			t.Fatal(err)
		}
		later := e.send(t, s.Visitor, chat.Message{Text: "hello again"})
		if later.Conversation.TicketID == id || later.Conversation.ID != conv.ID {
			t.Fatalf("after closing: %+v", later.Conversation)
		}
		follow, _ := e.tickets.Get(e.ctx, later.Conversation.TicketID)
		if follow.FollowUpOf != id || follow.Channel != "chat" {
			t.Fatalf("follow-up %+v", follow)
		}
		back := e.session(t, chat.SessionInput{Token: s.Token})
		if got := texts(back.Events); got[0] != "customer:zip broke" || got[len(got)-2] != "customer:hello again" {
			t.Fatalf("history across tickets %q", got)
		}
	})
}

func state(t *testing.T, e *env, s *chat.Session) *chat.Conversation {
	t.Helper()
	c, err := e.chat.Conversation(context.Background(), s.Visitor)
	if err != nil || c == nil {
		t.Fatalf("conversation %v %v", c, err)
	}
	return c
}

// Queued visitors learn their place; agents see the queue they may see.
func TestQueuePositionsAndExpectedWait(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		e.online(t, 0)
		var convs []*chat.Conversation
		for i := range 4 {
			e.online(t, 0)
			s := e.session(t, chat.SessionInput{})
			sent := e.send(t, s.Visitor, chat.Message{Text: fmt.Sprint("q", i), Prechat: prechat(fmt.Sprint("V", i), fmt.Sprintf("v%d@example.com", i))})
			convs = append(convs, sent.Conversation)
			e.clock.Advance(time.Minute)
		}
		pos, err := e.chat.Positions(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if pos[convs[2].ID].Position != 3 || pos[convs[2].ID].Known {
			t.Fatalf("without accepts: %+v", pos[convs[2].ID])
		}
		// The first two are accepted after waiting 4 and 4 minutes, one
		// minute apart.
		if _, err := e.chat.Accept(e.as(0), convs[0].TicketID); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Minute)
		e.online(t, 0)
		if _, err := e.chat.Accept(e.as(0), convs[1].TicketID); err != nil {
			t.Fatal(err)
		}
		pos, _ = e.chat.Positions(context.Background())
		p := pos[convs[3].ID]
		if p.Position != 2 || !p.Known || p.Wait != 5*time.Minute {
			t.Fatalf("position %+v; want second, 4 min median + 1 min interval", p)
		}
		q, err := e.chat.Queue(e.as(0), 10)
		if err != nil || len(q) != 2 || q[0].Position != 1 || q[0].CustomerName != "V2" {
			t.Fatalf("queue %+v %v", q, err)
		}
	})
}

// A transcript goes only to the visitor's own address, through the
// outbox, in their language.
func TestTranscriptIsMailedToTheVisitor(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		e.online(t, 0)
		s := e.session(t, chat.SessionInput{})
		sent := e.send(t, s.Visitor, chat.Message{Text: "尺码偏小吗？", Prechat: prechat("王芳", "wang@example.cn")})
		if _, _, err := e.tickets.AddMessage(e.as(0), sent.Conversation.TicketID, ticket.NewMessage{Kind: ticket.Reply, Text: "偏小一码，建议选大一号。"}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.tickets.AddMessage(e.as(0), sent.Conversation.TicketID, ticket.NewMessage{Kind: ticket.Note, Text: "internal: low stock"}); err != nil {
			t.Fatal(err)
		}
		err := e.chat.Transcript(context.Background(), s.Visitor, "stranger@example.com", "zh-CN")
		wantCode(t, err, kefu.Invalid)
		if err := e.chat.Transcript(context.Background(), s.Visitor, "", "zh-CN"); err != nil {
			t.Fatal(err)
		}
		var to, subject string
		if err := db.Read.QueryRow(`SELECT to_address, subject FROM outbound_mail WHERE ticket_id = $1 AND kind = 'notice'`, sent.Conversation.TicketID).Scan(&to, &subject); err != nil {
			t.Fatal(err)
		}
		if to != "wang@example.cn" || !strings.HasPrefix(subject, "您的在线咨询记录 [KF-") {
			t.Fatalf("transcript to %s: %s", to, subject)
		}
		runJobs(t, e)
		if len(e.transport.Sent()) != 1 {
			t.Fatalf("%d mails sent", len(e.transport.Sent()))
		}
		body := e.transport.Sent()[0].Text
		if !strings.Contains(body, "尺码偏小吗？") || !strings.Contains(body, "李娜:\n偏小一码") || strings.Contains(body, "low stock") {
			t.Fatalf("transcript:\n%s", body)
		}
		for range chat.DefaultLimits.TranscriptsPerHour - 1 {
			if err := e.chat.Transcript(context.Background(), s.Visitor, "", "en"); err != nil {
				t.Fatal(err)
			}
		}
		wantCode(t, e.chat.Transcript(context.Background(), s.Visitor, "", "en"), kefu.RateLimited)
	})
}

func runJobs(t *testing.T, e *env) {
	t.Helper()
	recs, err := e.queue.List(e.ctx, jobs.Filter{State: jobs.Pending, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	handlers := e.out.Handlers()
	for _, r := range recs {
		if fn := handlers[r.Kind]; fn != nil {
			r.Attempts = 1
			if err := fn(e.ctx, r); err != nil {
				t.Fatalf("job %s: %v", r.Kind, err)
			}
		}
	}
}

// A chat merged into another ticket (the customer's email about the same
// order) carries on there: replies on it reach the widget, the visitor's
// messages land on it. Merged into a ticket with a chat of its own, it
// ends.
func TestMergedChatCarriesOn(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		e.online(t, 0)
		mail, err := e.tickets.Create(e.ctx, ticket.NewTicket{Subject: "Order SO-9", Channel: "email",
			Customer: ticket.CustomerRef{Email: "ann@example.com"}, Message: ticket.NewMessage{Text: "Where is SO-9?"}})
		if err != nil {
			t.Fatal(err)
		}
		s := e.session(t, chat.SessionInput{})
		sent := e.send(t, s.Visitor, chat.Message{Text: "about SO-9", Prechat: prechat("Ann", "ann@example.com")})
		if _, err := e.chat.Accept(e.as(0), sent.Conversation.TicketID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.tickets.Merge(e.as(0), mail.ID, sent.Conversation.TicketID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.tickets.AddMessage(e.as(0), mail.ID, ticket.NewMessage{Kind: ticket.Reply, Text: "It ships today."}); err != nil {
			t.Fatal(err)
		}
		e.online(t, 0)
		next := e.send(t, s.Visitor, chat.Message{Text: "great"})
		if next.Conversation.TicketID != mail.ID || next.Conversation.State != chat.Active {
			t.Fatalf("after the merge: %+v", next.Conversation)
		}
		evs, _ := e.chat.History(context.Background(), sent.Conversation.ID)
		got := texts(evs)
		if got[len(got)-2] != "reply:It ships today." || got[len(got)-1] != "customer:great" {
			t.Fatalf("the widget shows %q", got)
		}

		// A second chat merged into the first one's ticket ends.
		s2 := e.session(t, chat.SessionInput{})
		other := e.send(t, s2.Visitor, chat.Message{Text: "me too", Prechat: prechat("Ann", "ann@example.com")})
		if _, err := e.tickets.Merge(e.as(0), mail.ID, other.Conversation.TicketID); err != nil {
			t.Fatal(err)
		}
		if c := state(t, e, s2); c.State != chat.Ended {
			t.Fatalf("the second chat is %s", c.State)
		}
	})
}
