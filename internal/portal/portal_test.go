package portal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/auth"
	"github.com/kefu-desk/kefu/internal/blob"
	"github.com/kefu-desk/kefu/internal/calendar"
	"github.com/kefu-desk/kefu/internal/customer"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/demo"
	"github.com/kefu-desk/kefu/internal/email"
	"github.com/kefu-desk/kefu/internal/email/emailtest"
	"github.com/kefu-desk/kefu/internal/jobs"
	"github.com/kefu-desk/kefu/internal/portal"
	"github.com/kefu-desk/kefu/internal/sla"
	"github.com/kefu-desk/kefu/internal/testclock"
	"github.com/kefu-desk/kefu/internal/ticket"
)

type harness struct {
	db        *database.DB
	clock     *testclock.Clock
	ctx       context.Context // the system acting, for setting things up
	tickets   *ticket.Service
	customers *customer.Service
	queue     *jobs.Queue
	out       *email.Outbound
	transport *emailtest.Recorder
	sla       *sla.Service
	portal    *portal.Service
}

func newHarness(t testing.TB, db *database.DB) *harness {
	t.Helper()
	// Tuesday 3 March 2026, 09:00 in Shanghai.
	h := &harness{db: db, clock: testclock.New(time.Date(2026, 3, 3, 1, 0, 0, 0, time.UTC), time.Millisecond), ctx: kefu.WithActor(context.Background(), kefu.System)}
	now := h.clock.Now
	blobs := blob.Dir{Root: t.TempDir()}
	h.customers = &customer.Service{DB: db, Now: now}
	h.tickets = &ticket.Service{DB: db, Now: now, Blobs: blobs, Customers: h.customers}
	h.queue = &jobs.Queue{DB: db, Now: now}
	h.transport = &emailtest.Recorder{}
	h.out = &email.Outbound{DB: db, Now: now, Jobs: h.queue, Blobs: blobs, Transport: h.transport, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	cals := &calendar.Service{DB: db, Now: now}
	h.sla = &sla.Service{DB: db, Now: now, Calendars: cals, Tickets: h.tickets}
	h.portal = &portal.Service{DB: db, Now: now, Tickets: h.tickets, Customers: h.customers, Mail: h.out, Jobs: h.queue, SLA: h.sla,
		Hashes: &auth.Service{Params: auth.TestParams}, PublicURL: "https://help.shop.example/"}
	h.tickets.Hooks = append(h.tickets.Hooks, h.sla, h.out, h.portal)
	_, err := (&email.Mailboxes{DB: db, Now: now}).Create(h.ctx, email.Mailbox{Address: "service@shop.example.cn", DisplayName: "小店客服",
		IsDefault: true, Enabled: true, SMTP: email.SMTPSettings{Host: "127.0.0.1", Port: 2525, Security: "none"},
		AckZh: "您好 {{name}}，我们已收到您的请求（{{key}}）。", AckEn: "Dear {{name}}, we received your request {{key}}."})
	if err != nil {
		t.Fatal(err)
	}
	cal, err := cals.Create(h.ctx, demo.NanbeiChao())
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.sla.CreatePolicy(h.ctx, sla.Policy{Name: "After-sales", CalendarID: cal.ID, Definition: sla.Definition{
		Targets: []sla.Target{
			{Kind: sla.FirstResponse, Minutes: 10, Unit: sla.Business},
			{Kind: sla.NextReply, Minutes: 30, Unit: sla.Business},
			{Kind: sla.Resolution, Minutes: 3 * 450, Unit: sla.Business},
		}}})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// runMail sends every pending mail through the recorder.
func (h *harness) runMail(t *testing.T) {
	t.Helper()
	recs, err := h.queue.List(h.ctx, jobs.Filter{Kind: email.SendKind, State: jobs.Pending, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		r.Attempts = 1
		if err := h.out.Handlers()[r.Kind](h.ctx, r); err != nil {
			t.Fatalf("job %s: %v", r.Kind, err)
		}
	}
}

// jobs returns the payloads of the jobs of kind.
func (h *harness) jobs(t *testing.T, kind string) []json.RawMessage {
	t.Helper()
	recs, err := h.queue.List(h.ctx, jobs.Filter{Kind: kind, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]json.RawMessage, len(recs))
	for i, r := range recs {
		out[i] = r.Payload
	}
	return out
}

// count is a one-number query.
func (h *harness) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := h.db.Read.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

var png = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x02\x00\x00\x00\x02\x08\x02\x00\x00\x00")

func photo(name string, b []byte) portal.Photo {
	return portal.Photo{Filename: name, Size: int64(len(b)), Content: bytes.NewReader(b)}
}

// submit sends the contact form with good values, changed by edit.
func (h *harness) submit(t *testing.T, edit func(*portal.Contact)) (*portal.Receipt, error) {
	t.Helper()
	c := portal.Contact{Name: "王芳", Email: "wang.fang@example.cn", Category: "return_exchange", OrderNumber: "#so-20260301-88",
		Description: "连衣裙尺码偏小\n收到的连衣裙偏小，想换大一号。", Lang: "zh-CN", IP: "198.51.100.7",
		Photos: []portal.Photo{photo("IMG_0001.PNG", png), photo("C:\\Users\\wf\\side.png", png)}}
	if edit != nil {
		edit(&c)
	}
	return h.portal.Submit(h.ctx, c)
}

// The contact form opens a web-form ticket with the photos for the
// customer found or created by email, and acknowledges it by mail in the
// page's language, with the ticket number, in the same transaction.
func TestContactFormCreatesTicketAndAcknowledgement(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		h := newHarness(t, db)
		r, err := h.submit(t, nil)
		if err != nil {
			t.Fatal(err)
		}
		tk := r.Ticket
		if tk == nil || tk.Channel != "web_form" || tk.Category != "return_exchange" || tk.OrderNumber != "SO-20260301-88" ||
			tk.Subject != "连衣裙尺码偏小" || tk.Status != ticket.New {
			t.Fatalf("ticket %+v", tk)
		}
		c, err := h.customers.FindByIdentity(h.ctx, customer.Email, "Wang.Fang@example.cn")
		if err != nil || c.ID != tk.CustomerID || c.Name != "王芳" {
			t.Fatalf("customer %+v, %v", c, err)
		}
		msgs, err := h.tickets.Messages(h.ctx, tk.ID, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 1 || msgs[0].Kind != ticket.FromCustomer || len(msgs[0].Attachments) != 2 {
			t.Fatalf("messages %+v", msgs)
		}
		for _, a := range msgs[0].Attachments {
			if a.ContentType != "image/png" || strings.ContainsAny(a.Filename, `/\`) {
				t.Fatalf("attachment %+v", a)
			}
		}
		if n := h.count(t, `SELECT count(*) FROM outbound_mail WHERE kind = 'ack' AND ticket_id = $1 AND to_norm = 'wang.fang@example.cn'`, tk.ID); n != 1 {
			t.Fatalf("%d acknowledgements queued", n)
		}
		h.runMail(t)
		ack := h.transport.Last(t)
		if ack.To.Address != "wang.fang@example.cn" || !strings.Contains(ack.Text, tk.Key) || !strings.HasPrefix(ack.Text, "您好 王芳") {
			t.Fatalf("acknowledgement %+v", ack)
		}

		// An English page acknowledges in English; a second request from
		// the same address belongs to the same customer.
		r, err = h.submit(t, func(c *portal.Contact) { c.Lang, c.Photos, c.Description = "en", nil, "Where is my parcel?" })
		if err != nil {
			t.Fatal(err)
		}
		if r.Ticket.CustomerID != tk.CustomerID {
			t.Fatal("a second request made a second customer")
		}
		h.runMail(t)
		if ack := h.transport.Last(t); !strings.HasPrefix(ack.Text, "Dear 王芳, we received your request "+r.Ticket.Key) {
			t.Fatalf("English acknowledgement %q", ack.Text)
		}
	})
}

// A phone number alone is enough: the customer is found or created by
// phone and the acknowledgement waits for the SMS gateway as an sms.send
// job with the number and the ticket key.
func TestContactFormByPhone(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		h := newHarness(t, db)
		r, err := h.submit(t, func(c *portal.Contact) { c.Email, c.Phone = "", "+86 138-0013-8000" })
		if err != nil {
			t.Fatal(err)
		}
		c, err := h.customers.FindByIdentity(h.ctx, customer.Phone, "+8613800138000")
		if err != nil || c.ID != r.Ticket.CustomerID {
			t.Fatalf("customer by phone: %v", err)
		}
		sms := h.jobs(t, portal.SMSKind)
		if len(sms) != 1 {
			t.Fatalf("%d text messages queued", len(sms))
		}
		var m portal.SMS
		if err := json.Unmarshal(sms[0], &m); err != nil {
			t.Fatal(err)
		}
		if m.To != "+8613800138000" || m.Purpose != "acknowledgement" || !strings.Contains(m.Text, r.Ticket.Key) ||
			!strings.Contains(m.Text, "https://help.shop.example/portal") || m.TicketID != r.Ticket.ID {
			t.Fatalf("text message %+v", m)
		}
		if n := h.count(t, `SELECT count(*) FROM outbound_mail`); n != 0 {
			t.Fatalf("%d mails for a customer without an address", n)
		}

		// Both given: found by email, and the phone joins that customer.
		r, err = h.submit(t, func(c *portal.Contact) { c.Phone = "13900139000" })
		if err != nil {
			t.Fatal(err)
		}
		c, err = h.customers.FindByIdentity(h.ctx, customer.Phone, "13900139000")
		if err != nil || c.ID != r.Ticket.CustomerID {
			t.Fatalf("the phone did not join the customer found by email: %v", err)
		}
	})
}

// Bad input is refused field by field, a filled honeypot is thanked and
// dropped, and none of it stores anything.
func TestContactFormRejections(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		h := newHarness(t, db)
		big := append(append([]byte{}, png...), make([]byte, portal.DefaultLimits.PhotoBytes)...)
		cases := []struct {
			name   string
			edit   func(*portal.Contact)
			fields []string
			code   kefu.Code
		}{
			{"nothing", func(c *portal.Contact) { *c = portal.Contact{IP: c.IP} }, []string{"name", "email", "category", "description"}, kefu.Invalid},
			{"bad addresses", func(c *portal.Contact) { c.Email, c.Phone = "wang at example", "12" }, []string{"email", "phone"}, kefu.Invalid},
			{"archived or unknown category", func(c *portal.Contact) { c.Category = "sizes" }, []string{"category"}, kefu.Invalid},
			{"not a photo", func(c *portal.Contact) { c.Photos = []portal.Photo{photo("x.jpg", []byte("MZ\x90\x00 not a picture"))} }, []string{"photos[0]"}, kefu.Invalid},
			{"photo too large", func(c *portal.Contact) { c.Photos = []portal.Photo{photo("big.png", big)} }, []string{"photos[0]"}, kefu.Invalid},
			{"too many photos", func(c *portal.Contact) {
				c.Photos = nil
				for range portal.DefaultLimits.Photos + 1 {
					c.Photos = append(c.Photos, photo("p.png", png))
				}
			}, []string{"photos"}, kefu.Invalid},
		}
		for i, tc := range cases {
			_, err := h.submit(t, func(c *portal.Contact) { c.IP = "203.0.113." + string(rune('1'+i)); tc.edit(c) })
			if !kefu.IsCode(err, tc.code) {
				t.Fatalf("%s: %v", tc.name, err)
			}
			var e *kefu.Error
			if !errors.As(err, &e) {
				t.Fatalf("%s: %T", tc.name, err)
			}
			for _, f := range tc.fields {
				if !hasField(e, f) {
					t.Errorf("%s: no error on %s: %v", tc.name, f, err)
				}
			}
		}
		r, err := h.submit(t, func(c *portal.Contact) { c.Trap = "http://spam.example"; c.IP = "203.0.113.99" })
		if err != nil || r.Ticket != nil {
			t.Fatalf("honeypot: %+v, %v", r, err)
		}
		// A blocked customer is turned away.
		c, err := h.customers.Create(h.ctx, customer.NewCustomer{Name: "x", Identities: []customer.NewIdent{{Kind: customer.Email, Value: "abuse@example.com"}}})
		if err != nil {
			t.Fatal(err)
		}
		yes, why := true, "threats"
		if _, err := h.customers.Update(h.ctx, c.ID, 0, customer.Patch{Blocked: &yes, BlockedReason: &why}); err != nil {
			t.Fatal(err)
		}
		if _, err := h.submit(t, func(c *portal.Contact) { c.Email = "abuse@example.com"; c.IP = "203.0.113.98" }); !kefu.IsCode(err, kefu.Forbidden) {
			t.Fatalf("blocked customer: %v", err)
		}
		for _, table := range []string{"tickets", "messages", "attachments", "outbound_mail", "jobs"} {
			if n := h.count(t, `SELECT count(*) FROM `+table); n != 0 {
				t.Errorf("%d rows in %s after rejections", n, table)
			}
		}
		if n := h.count(t, `SELECT count(*) FROM customers`); n != 1 {
			t.Errorf("%d customers, want only the blocked one", n)
		}
	})
}

// One network address gets a burst of submissions, then is told to wait.
func TestContactFormRateLimit(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		h := newHarness(t, db)
		for i := range portal.DefaultLimits.SubmitBurst {
			if _, err := h.submit(t, func(c *portal.Contact) { c.Photos = nil }); err != nil {
				t.Fatalf("submission %d: %v", i+1, err)
			}
		}
		_, err := h.submit(t, func(c *portal.Contact) { c.Photos = nil })
		at, ok := auth.RetryAt(err)
		if !kefu.IsCode(err, kefu.RateLimited) || !ok || !at.After(h.clock.Now()) {
			t.Fatalf("over the burst: %v (retry at %v)", err, at)
		}
		if _, err := h.submit(t, func(c *portal.Contact) { c.Photos, c.IP = nil, "198.51.100.8" }); err != nil {
			t.Fatalf("another address: %v", err)
		}
		h.clock.Advance(portal.DefaultLimits.SubmitEvery)
		if _, err := h.submit(t, func(c *portal.Contact) { c.Photos = nil }); err != nil {
			t.Fatalf("after waiting: %v", err)
		}
	})
}

var sixDigits = regexp.MustCompile(`\b(\d{6})\b`)

// requestCode asks for a code for address and returns the challenge and
// the code as mailed.
func (h *harness) requestCode(t *testing.T, address, ip string) (*portal.Challenge, string) {
	t.Helper()
	ch, err := h.portal.RequestCode(h.ctx, portal.CodeRequest{Address: address, Lang: "en", IP: ip})
	if err != nil {
		t.Fatal(err)
	}
	before := len(h.transport.Sent())
	h.runMail(t)
	for _, m := range h.transport.Sent()[before:] {
		if m.Subject != "Your sign-in code" {
			continue
		}
		code := sixDigits.FindStringSubmatch(m.Text)
		if code == nil {
			t.Fatalf("no code in %q", m.Text)
		}
		return ch, code[1]
	}
	return ch, ""
}

func (h *harness) customer(t testing.TB, name, email string) *customer.Customer {
	t.Helper()
	c, err := h.customers.Create(h.ctx, customer.NewCustomer{Name: name, Identities: []customer.NewIdent{{Kind: customer.Email, Value: email}}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A code is mailed (with a link), stored only as a hash, works once,
// dies after a few wrong tries or its expiry, and an address not on file
// gets the same answer and no mail.
func TestSignInCode(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		h := newHarness(t, db)
		c := h.customer(t, "Anna", "anna@example.com")
		ch, code := h.requestCode(t, " Anna@Example.com ", "192.0.2.1")
		if ch.Channel != "email" || ch.Masked != "a•••@example.com" || code == "" {
			t.Fatalf("challenge %+v, code %q", ch, code)
		}
		m := h.transport.Last(t)
		if m.To.Address != "anna@example.com" || !m.Automatic || !strings.Contains(m.Text, "https://help.shop.example/portal/link?t=") {
			t.Fatalf("mail %+v", m)
		}
		// Neither the code nor the link is kept in the clear once sent.
		if n := h.count(t, `SELECT count(*) FROM outbound_mail WHERE body_text <> ''`); n != 0 {
			t.Fatal("the mail's text, with the code, is still stored after sending")
		}
		var hash, link string
		if err := db.Read.QueryRow(`SELECT code_hash, link_hash FROM portal_codes WHERE id = $1`, ch.ID).Scan(&hash, &link); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(hash, code) || !strings.HasPrefix(hash, "$argon2id$") || len(link) != 64 {
			t.Fatalf("stored %q / %q", hash, link)
		}

		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		_, err := h.portal.VerifyCode(h.ctx, portal.Verify{Challenge: ch.ID, Code: wrong, IP: "192.0.2.1"})
		if !kefu.IsCode(err, kefu.Invalid) || !strings.Contains(err.Error(), "4 tries left") {
			t.Fatalf("wrong code: %v", err)
		}
		sess, err := h.portal.VerifyCode(h.ctx, portal.Verify{Challenge: ch.ID, Code: code[:3] + " " + code[3:], IP: "192.0.2.1", TimeZone: "Europe/Berlin"})
		if err != nil {
			t.Fatal(err)
		}
		if sess.CustomerID != c.ID || sess.Token == "" || sess.TicketID != "" || sess.TimeZone != "Europe/Berlin" {
			t.Fatalf("session %+v", sess)
		}
		if _, err := h.portal.VerifyCode(h.ctx, portal.Verify{Challenge: ch.ID, Code: code, IP: "192.0.2.1"}); !kefu.IsCode(err, kefu.Invalid) ||
			!strings.Contains(err.Error(), "already used") {
			t.Fatalf("second use: %v", err)
		}
		got, err := h.portal.Session(h.ctx, sess.Token)
		if err != nil || got.ID != sess.ID {
			t.Fatalf("session lookup: %+v, %v", got, err)
		}
		if n := h.count(t, `SELECT count(*) FROM portal_sessions WHERE token_hash = $1`, sess.Token); n != 0 {
			t.Fatal("the session token is stored in the clear")
		}

		// Five wrong tries kill a code, the right one included after.
		ch, code = h.requestCode(t, "anna@example.com", "192.0.2.2")
		for range portal.DefaultLimits.CodeAttempts {
			h.portal.VerifyCode(h.ctx, portal.Verify{Challenge: ch.ID, Code: wrong, IP: "192.0.2.2"})
		}
		if _, err := h.portal.VerifyCode(h.ctx, portal.Verify{Challenge: ch.ID, Code: code, IP: "192.0.2.2"}); err == nil ||
			!strings.Contains(err.Error(), "too many wrong tries") {
			t.Fatalf("right code after the limit: %v", err)
		}

		// A code expires.
		ch, code = h.requestCode(t, "anna@example.com", "192.0.2.3")
		h.clock.Advance(portal.DefaultLimits.CodeTTL)
		if _, err := h.portal.VerifyCode(h.ctx, portal.Verify{Challenge: ch.ID, Code: code, IP: "192.0.2.3"}); err == nil ||
			!strings.Contains(err.Error(), "expired") {
			t.Fatalf("expired code: %v", err)
		}

		// An address nobody holds: the same kind of answer, no mail, and
		// a code tried against it fails like a wrong one.
		ch, code = h.requestCode(t, "nobody@example.com", "192.0.2.4")
		if ch == nil || ch.Masked != "n•••@example.com" || code != "" {
			t.Fatalf("unknown address: %+v, code %q", ch, code)
		}
		if _, err := h.portal.VerifyCode(h.ctx, portal.Verify{Challenge: ch.ID, Code: "123456", IP: "192.0.2.4"}); err == nil ||
			!strings.Contains(err.Error(), "4 tries left") {
			t.Fatalf("code for an unknown address: %v", err)
		}

		// Bad input changes nothing.
		for _, bad := range []string{"", "anna", "12"} {
			if _, err := h.portal.RequestCode(h.ctx, portal.CodeRequest{Address: bad, IP: "192.0.2.5"}); !kefu.IsCode(err, kefu.Invalid) {
				t.Fatalf("address %q: %v", bad, err)
			}
		}
		if _, err := h.portal.VerifyCode(h.ctx, portal.Verify{Challenge: ch.ID, Code: "12345", IP: "192.0.2.5"}); !kefu.IsCode(err, kefu.Invalid) {
			t.Fatalf("five digits: %v", err)
		}
	})
}

// The link in the mail signs in once, and uses the code up with it.
func TestSignInLink(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		h := newHarness(t, db)
		c := h.customer(t, "Anna", "anna@example.com")
		ch, code := h.requestCode(t, "anna@example.com", "192.0.2.1")
		token := regexp.MustCompile(`link\?t=(\S+)`).FindStringSubmatch(h.transport.Last(t).Text)[1]
		sess, err := h.portal.VerifyLink(h.ctx, token, "192.0.2.1", "")
		if err != nil || sess.CustomerID != c.ID || sess.Method != "link" {
			t.Fatalf("link: %+v, %v", sess, err)
		}
		if _, err := h.portal.VerifyLink(h.ctx, token, "192.0.2.1", ""); !kefu.IsCode(err, kefu.Invalid) {
			t.Fatalf("second use of the link: %v", err)
		}
		if _, err := h.portal.VerifyCode(h.ctx, portal.Verify{Challenge: ch.ID, Code: code, IP: "192.0.2.1"}); err == nil {
			t.Fatal("the code still worked after the link was used")
		}
		if _, err := h.portal.VerifyLink(h.ctx, "made-up", "192.0.2.1", ""); !kefu.IsCode(err, kefu.Invalid) {
			t.Fatalf("made-up link: %v", err)
		}
	})
}

// An address gets at most CodesPerHour codes an hour; after that the
// answer is the same but nothing is sent.
func TestSignInCodesPerAddress(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		h := newHarness(t, db)
		h.customer(t, "Anna", "anna@example.com")
		for i := range portal.DefaultLimits.CodesPerHour {
			if _, code := h.requestCode(t, "anna@example.com", "192.0.2."+string(rune('1'+i))); code == "" {
				t.Fatalf("code %d not sent", i+1)
			}
		}
		if _, code := h.requestCode(t, "anna@example.com", "192.0.2.9"); code != "" {
			t.Fatal("a code past the hourly limit was sent")
		}
		h.clock.Advance(time.Hour)
		if _, code := h.requestCode(t, "anna@example.com", "192.0.2.9"); code == "" {
			t.Fatal("no code an hour later")
		}
	})
}

// A code to a phone number is a text message queued for the gateway.
func TestSignInCodeByPhone(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		h := newHarness(t, db)
		c, err := h.customers.Create(h.ctx, customer.NewCustomer{Name: "李娜", Identities: []customer.NewIdent{{Kind: customer.Phone, Value: "+86 139 0013 9000"}}})
		if err != nil {
			t.Fatal(err)
		}
		ch, err := h.portal.RequestCode(h.ctx, portal.CodeRequest{Address: "+8613900139000", Lang: "zh-CN", IP: "192.0.2.1"})
		if err != nil {
			t.Fatal(err)
		}
		if ch.Channel != "phone" || ch.Masked != "+86•••••••9000" {
			t.Fatalf("challenge %+v", ch)
		}
		sms := h.jobs(t, portal.SMSKind)
		if len(sms) != 1 {
			t.Fatalf("%d text messages", len(sms))
		}
		var m portal.SMS
		json.Unmarshal(sms[0], &m)
		code := sixDigits.FindStringSubmatch(m.Text)
		if m.To != "+8613900139000" || m.Purpose != "signin_code" || m.CustomerID != c.ID || code == nil || !strings.Contains(m.Text, "验证码") {
			t.Fatalf("text message %+v", m)
		}
		sess, err := h.portal.VerifyCode(h.ctx, portal.Verify{Challenge: ch.ID, Code: code[1], IP: "192.0.2.1"})
		if err != nil || sess.CustomerID != c.ID {
			t.Fatalf("sign in by phone: %v", err)
		}
	})
}

// Sessions end when signed out, when idle too long and at their absolute
// limit however busy.
func TestSessionExpiry(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		h := newHarness(t, db)
		h.customer(t, "Anna", "anna@example.com")
		signIn := func() *portal.Session {
			ch, code := h.requestCode(t, "anna@example.com", "192.0.2.1")
			sess, err := h.portal.VerifyCode(h.ctx, portal.Verify{Challenge: ch.ID, Code: code, IP: "192.0.2.1"})
			if err != nil {
				t.Fatal(err)
			}
			return sess
		}
		sess := signIn()
		if err := h.portal.SignOut(h.ctx, sess.Token); err != nil {
			t.Fatal(err)
		}
		if _, err := h.portal.Session(h.ctx, sess.Token); !kefu.IsCode(err, kefu.Unauthorized) {
			t.Fatalf("after sign-out: %v", err)
		}

		sess = signIn()
		h.clock.Advance(portal.DefaultLimits.SessionIdle + time.Second)
		if _, err := h.portal.Session(h.ctx, sess.Token); !kefu.IsCode(err, kefu.Unauthorized) {
			t.Fatalf("after idling: %v", err)
		}

		sess = signIn()
		for elapsed := time.Duration(0); elapsed < portal.DefaultLimits.SessionTTL-time.Hour; elapsed += time.Hour {
			h.clock.Advance(time.Hour)
			if _, err := h.portal.Session(h.ctx, sess.Token); err != nil {
				t.Fatalf("in use after %v: %v", elapsed+time.Hour, err)
			}
		}
		h.clock.Advance(time.Hour + time.Second)
		if _, err := h.portal.Session(h.ctx, sess.Token); !kefu.IsCode(err, kefu.Unauthorized) {
			t.Fatalf("past the absolute limit: %v", err)
		}
		if n, err := h.portal.Sweep(h.ctx); err != nil || n == 0 {
			t.Fatalf("sweep removed %d: %v", n, err)
		}
	})
}

func hasField(e *kefu.Error, field string) bool {
	for _, f := range e.Fields {
		if f.Field == field {
			return true
		}
	}
	return false
}
