package web_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/auth"
	"github.com/kefu-desk/kefu/internal/customer"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/email"
	"github.com/kefu-desk/kefu/internal/jobs"
	"github.com/kefu-desk/kefu/internal/portal"
	"github.com/kefu-desk/kefu/internal/ticket"
	"github.com/kefu-desk/kefu/internal/web"
)

// withPortal adds the contact form and the portal, mailing through the
// outbound queue from a default mailbox (never sent: the tests read what
// was queued).
func withPortal(db *database.DB, origins ...string) func(*web.Deps) {
	return func(d *web.Deps) {
		q := &jobs.Queue{DB: db, Now: d.Now}
		out := &email.Outbound{DB: db, Now: d.Now, Jobs: q, Blobs: d.Tickets.Blobs}
		p := &portal.Service{DB: db, Now: d.Now, Tickets: d.Tickets, Customers: d.Customers, Mail: out, Jobs: q, Hashes: &auth.Service{Params: auth.TestParams}}
		d.Tickets.Hooks = append(d.Tickets.Hooks, p, out)
		d.Portal, d.EmbedOrigins = p, origins
		if _, err := (&email.Mailboxes{DB: db, Now: d.Now}).Create(kefu.WithActor(context.Background(), kefu.System), email.Mailbox{
			Address: "service@shop.example", IsDefault: true, Enabled: true, SMTP: email.SMTPSettings{Host: "127.0.0.1", Port: 2525, Security: "none"},
			AckEn: "We received {{key}}.", AckZh: "已收到 {{key}}。"}); err != nil {
			panic(err)
		}
	}
}

// customerBrowser is a browser that is no staff member and does not
// follow redirects, so tests see where each answer points.
func (e *env) customerBrowser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// multipartForm posts fields and files (name → content) as a browser's
// form in a page of site (same-origin, cross-site …).
func (b *browser) multipartForm(path, site string, fields map[string]string, files map[string][]byte) page {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	for name, content := range files {
		fw, _ := mw.CreateFormFile("photos", name)
		fw.Write(content)
	}
	mw.Close()
	req, _ := http.NewRequest("POST", b.e.url+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Sec-Fetch-Site", site)
	return b.do(req)
}

func (e *env) count(q string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.db.Read.QueryRow(q, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

var pngPhoto = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x02\x00\x00\x00\x02\x08\x02\x00\x00\x00")

// The form is shown hosted (never framed) and embedded (framed by the
// allowed sites only), and its snippet is served for any site.
func TestContactFormPages(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db, withPortal(db, "https://shop.example"))
		c := e.customerBrowser()
		p := c.get("/contact")
		want(t, p, 200, "Contact us", `name="website"`, `enctype="multipart/form-data"`, "Return / exchange")
		if p.Header.Get("X-Frame-Options") != "DENY" {
			t.Error("the hosted form may be framed")
		}
		p = c.get("/contact/embed?lang=zh-CN&order_number=SO-9&name=" + url.QueryEscape("王芳"))
		want(t, p, 200, "联系我们", `value="SO-9"`, `value="王芳"`, `action="/contact/embed?lang=zh-CN"`)
		if p.Header.Get("X-Frame-Options") != "" || p.Header.Get("Content-Security-Policy") != "frame-ancestors https://shop.example" {
			t.Errorf("embedded form headers: XFO %q, CSP %q", p.Header.Get("X-Frame-Options"), p.Header.Get("Content-Security-Policy"))
		}
		p = c.get("/contact/embed.js")
		want(t, p, 200, "data-kefu-contact", "/contact/embed?")
		if !strings.HasPrefix(p.Header.Get("Content-Type"), "text/javascript") || p.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("snippet headers %v", p.Header)
		}
	})
}

// A submission opens a ticket and leads to a thank-you page with its
// number; a bad one is shown again with a sentence under each field in
// the page's language and stores nothing; the honeypot is thanked and
// dropped; a post from another site's page is refused by the CSRF guard,
// while one from Kefu's own frame (same-origin) goes through.
func TestContactFormSubmit(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db, withPortal(db))
		c := e.customerBrowser()
		before := e.count(`SELECT count(*) FROM tickets`)
		good := map[string]string{"name": "Lin Xiao", "email": "lin@example.com", "category": "repair", "order_number": "SO-77",
			"description": "The strap came off.\nPhotos attached."}

		p := c.multipartForm("/contact?lang=zh-CN", "same-origin", map[string]string{"name": "", "email": "lin@", "category": "nope", "description": ""},
			map[string][]byte{"virus.jpg": []byte("MZ\x90\x00 not a photo")})
		want(t, p, 422, "请填写您的姓名", "请填写有效的邮箱地址", "请选择请求类型", "请描述遇到的问题", "virus.jpg: ", `aria-invalid="true"`)
		if strings.Contains(p.body, "is required") {
			t.Error("a developer's message reached the customer")
		}

		p = c.multipartForm("/contact", "cross-site", good, nil)
		if p.StatusCode != http.StatusForbidden {
			t.Fatalf("a cross-site post: %d", p.StatusCode)
		}
		fields := map[string]string{"website": "http://spam.example"}
		for k, v := range good {
			fields[k] = v
		}
		p = c.multipartForm("/contact/embed", "same-origin", fields, nil)
		if p.StatusCode != http.StatusSeeOther || strings.Contains(p.Header.Get("Location"), "t=KF") {
			t.Fatalf("honeypot: %d %s", p.StatusCode, p.Header.Get("Location"))
		}
		if n := e.count(`SELECT count(*) FROM tickets`); n != before {
			t.Fatalf("%d tickets stored by rejected submissions", n-before)
		}

		p = c.multipartForm("/contact/embed?lang=en", "same-origin", good, map[string][]byte{"strap.png": pngPhoto})
		loc := p.Header.Get("Location")
		m := regexp.MustCompile(`^/contact/embed/thanks\?lang=en&t=(KF-\d+)$`).FindStringSubmatch(loc)
		if p.StatusCode != http.StatusSeeOther || m == nil {
			t.Fatalf("submission: %d %q\n%s", p.StatusCode, loc, p.body)
		}
		tk, err := e.tickets.Get(kefu.WithActor(context.Background(), kefu.System), m[1])
		if err != nil || tk.Channel != "web_form" || tk.OrderNumber != "SO-77" || tk.Subject != "The strap came off." {
			t.Fatalf("ticket %+v, %v", tk, err)
		}
		if n := e.count(`SELECT count(*) FROM attachments WHERE ticket_id = $1 AND filename = 'strap.png'`, tk.ID); n != 1 {
			t.Fatalf("%d photos stored", n)
		}
		if n := e.count(`SELECT count(*) FROM outbound_mail WHERE kind = 'ack' AND ticket_id = $1`, tk.ID); n != 1 {
			t.Fatalf("%d acknowledgements queued", n)
		}
		p = c.get(loc)
		want(t, p, 200, "Thank you", tk.Key)
		if p.Header.Get("X-Frame-Options") != "" {
			t.Error("the framed thank-you page cannot be framed")
		}
	})
}

// code is the sign-in code in the mail queued for address (read from the
// outbound log before it is sent, as a test's mailbox would receive it).
func (e *env) code(address string) string {
	e.t.Helper()
	var body string
	if err := e.db.Read.QueryRow(`SELECT body_text FROM outbound_mail WHERE kind = 'notice' AND to_norm = $1 ORDER BY id DESC LIMIT 1`,
		address).Scan(&body); err != nil {
		e.t.Fatal(err)
	}
	m := regexp.MustCompile(`\b(\d{6})\b`).FindStringSubmatch(body)
	if m == nil {
		e.t.Fatalf("no code in %q", body)
	}
	return m[1]
}

// portalSignIn signs a customer in with a mailed code and returns the
// browser holding the portal cookie.
func (e *env) portalSignIn(address string) *browser {
	e.t.Helper()
	c := e.customerBrowser()
	p := c.post("/portal/signin/code", url.Values{"address": {address}})
	loc, _ := url.Parse(p.Header.Get("Location"))
	if p.StatusCode != http.StatusSeeOther || loc.Path != "/portal/signin/verify" {
		e.t.Fatalf("request code: %d %s\n%s", p.StatusCode, loc, p.body)
	}
	want(e.t, c.get(loc.RequestURI()), 200, "Enter your code", loc.Query().Get("to"))
	p = c.post("/portal/signin/verify", url.Values{"c": {loc.Query().Get("c")}, "code": {e.code(address)}, "tz": {"Asia/Shanghai"}})
	if p.StatusCode != http.StatusSeeOther || p.Header.Get("Location") != "/portal" {
		e.t.Fatalf("verify: %d %s\n%s", p.StatusCode, p.Header.Get("Location"), p.body)
	}
	return c
}

// The portal has its own cookie: a staff session opens no portal page
// and a portal session no console page. A customer sees their tickets
// only, public messages only, and signing out ends the session for good.
func TestPortalSessionsAndVisibility(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db, withPortal(db))
		sys := kefu.WithActor(context.Background(), kefu.System)
		if _, _, err := e.tickets.AddMessage(sys, e.ticket.ID, ticket.NewMessage{Kind: ticket.Note, Text: "内部：客户曾多次索赔"}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.tickets.AddMessage(sys, e.ticket.ID, ticket.NewMessage{Kind: ticket.Reply, Text: "您好，请提供照片。", Status: ticket.PendingCustomer}); err != nil {
			t.Fatal(err)
		}
		other, err := e.tickets.Create(sys, ticket.NewTicket{Subject: "Someone else's", Customer: ticket.CustomerRef{Email: "bo@example.com"},
			Channel: "email", Category: "order", Message: ticket.NewMessage{Text: "private"}})
		if err != nil {
			t.Fatal(err)
		}

		staff := e.signin("admin@example.com")
		if p := staff.get("/portal/t/" + e.ticket.Key); !strings.HasPrefix(p.Request.URL.Path, "/portal/signin") {
			t.Fatalf("a staff session opened a portal page: %s", p.Request.URL.Path)
		}

		c := e.portalSignIn("wang@example.com")
		var cookie *http.Cookie
		for _, ck := range c.c.Jar.Cookies(&url.URL{Scheme: "http", Host: strings.TrimPrefix(e.url, "http://"), Path: "/portal/"}) {
			if ck.Name == "kefu_portal" {
				cookie = ck
			}
		}
		if cookie == nil {
			t.Fatal("no portal cookie")
		}
		if p := c.get("/queue/mine"); p.StatusCode != http.StatusSeeOther || !strings.HasPrefix(p.Header.Get("Location"), "/signin") {
			t.Fatalf("a portal session opened the console: %d %s", p.StatusCode, p.Header.Get("Location"))
		}
		if p := c.get("/portal"); p.StatusCode != 200 || !strings.Contains(p.body, e.ticket.Key) || strings.Contains(p.body, other.Key) {
			t.Fatalf("portal list: %d\n%s", p.StatusCode, p.body)
		}
		p := c.get("/portal/t/" + e.ticket.Key)
		want(t, p, 200, "您好，请提供照片。", "Waiting for your reply", "我穿M码")
		if strings.Contains(p.body, "客户曾多次索赔") || strings.Contains(p.body, "status:") {
			t.Fatal("an internal note or event reached the customer")
		}
		for _, path := range []string{"/portal/t/" + other.Key, "/portal/t/" + other.ID} {
			if p := c.get(path); p.StatusCode != http.StatusNotFound || strings.Contains(p.body, "private") {
				t.Fatalf("%s: %d", path, p.StatusCode)
			}
		}
		if p := c.multipartForm("/portal/t/"+other.Key+"/reply", "same-origin", map[string]string{"text": "hi"}, nil); p.StatusCode != http.StatusNotFound {
			t.Fatalf("reply to another's ticket: %d", p.StatusCode)
		}

		// A reply from the portal ends the wait on the customer.
		p = c.multipartForm("/portal/t/"+e.ticket.Key+"/reply", "same-origin", map[string]string{"text": "照片见附件"}, map[string][]byte{"photo.png": pngPhoto})
		if p.StatusCode != http.StatusSeeOther || !strings.HasPrefix(p.Header.Get("Location"), "/portal/t/"+e.ticket.Key+"?sent=1") {
			t.Fatalf("reply: %d %s\n%s", p.StatusCode, p.Header.Get("Location"), p.body)
		}
		cur, _ := e.tickets.Get(sys, e.ticket.ID)
		if cur.Status != ticket.Open {
			t.Fatalf("status after the customer's reply: %s", cur.Status)
		}
		// An empty reply is refused under its field and stores nothing.
		n := e.count(`SELECT count(*) FROM messages`)
		want(t, c.multipartForm("/portal/t/"+e.ticket.Key+"/reply", "same-origin", map[string]string{"text": " "}, nil), 422, "Write a message or add a photo")
		if e.count(`SELECT count(*) FROM messages`) != n {
			t.Fatal("an empty reply stored a message")
		}

		p = c.post("/portal/signout", nil)
		if p.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign out: %d", p.StatusCode)
		}
		replay := e.customerBrowser()
		replay.c.Jar.SetCookies(&url.URL{Scheme: "http", Host: strings.TrimPrefix(e.url, "http://"), Path: "/portal/"}, []*http.Cookie{cookie})
		if p := replay.get("/portal/t/" + e.ticket.Key); p.StatusCode != http.StatusSeeOther || !strings.HasPrefix(p.Header.Get("Location"), "/portal/signin") {
			t.Fatalf("the old cookie after sign-out: %d %s", p.StatusCode, p.Header.Get("Location"))
		}
	})
}

// Wrong codes are answered under the field with the tries left; an
// order number with the email opens that one request.
func TestPortalSignInForms(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db, withPortal(db))
		sys := kefu.WithActor(context.Background(), kefu.System)
		order := "SO-31"
		if _, err := e.tickets.Update(sys, e.ticket.ID, 0, ticket.Patch{OrderNumber: &order}); err != nil {
			t.Fatal(err)
		}
		c := e.customerBrowser()
		want(t, c.post("/portal/signin/code", url.Values{"address": {"not an address"}}), 422, "Enter the email address or phone number")
		p := c.post("/portal/signin/code", url.Values{"address": {"wang@example.com"}})
		loc, _ := url.Parse(p.Header.Get("Location"))
		code := e.code("wang@example.com")
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		want(t, c.post("/portal/signin/verify", url.Values{"c": {loc.Query().Get("c")}, "code": {wrong}}), 422, "You have 4 more tries")

		want(t, c.post("/portal/signin/order", url.Values{"order": {"SO-99"}, "email": {"wang@example.com"}}), 422, "No request matches")
		p = c.post("/portal/signin/order", url.Values{"order": {"so-31"}, "email": {"WANG@example.com"}})
		if p.StatusCode != http.StatusSeeOther {
			t.Fatalf("order sign-in: %d\n%s", p.StatusCode, p.body)
		}
		if p := c.get("/portal"); p.StatusCode != http.StatusSeeOther || p.Header.Get("Location") != "/portal/t/"+e.ticket.Key {
			t.Fatalf("a one-request session's home: %d %s", p.StatusCode, p.Header.Get("Location"))
		}

		// A customer blocked since cannot sign in with an order either.
		blocked, why := true, "abuse"
		c2, err := (&customer.Service{DB: db, Now: e.tickets.Now}).FindByIdentity(sys, customer.Email, "wang@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := (&customer.Service{DB: db, Now: e.tickets.Now}).Update(sys, c2.ID, 0, customer.Patch{Blocked: &blocked, BlockedReason: &why}); err != nil {
			t.Fatal(err)
		}
		if p := c.get("/portal/t/" + e.ticket.Key); p.StatusCode != http.StatusSeeOther {
			t.Fatalf("a blocked customer's session still works: %d", p.StatusCode)
		}
	})
}
