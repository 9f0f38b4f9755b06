package web_test

import (
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/email"
	"github.com/kefu-desk/kefu/internal/web"
)

var mailboxPath = regexp.MustCompile(`/admin/mailboxes\?id=([0-9a-zA-Z_-]+)`)

// closedPort is a loopback port nothing listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return strconv.Itoa(port)
}

func TestMailboxAdminRefusesThenSavesTestsAndDenies(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		mbs := &email.Mailboxes{DB: db, Now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }}
		e := newEnv(t, db, func(d *web.Deps) { d.Mailboxes = mbs })
		li := e.signin("li.na@example.com")
		want(t, li.get("/admin/mailboxes"), 403)

		b := e.signin("admin@example.com")
		want(t, b.get("/admin/mailboxes"), 200, "New mailbox", "No mailboxes yet.", "{{subject}}")
		port := closedPort(t)
		form := url.Values{"address": {"not an address"}, "display_name": {"Shop service"}, "enabled": {"on"},
			"imap.host": {"127.0.0.1"}, "imap.port": {"abc"}, "imap.security": {"none"}, "imap.password": {"imap-secret"},
			"imap.after_import": {"flag"}, "smtp.host": {"127.0.0.1"}, "smtp.port": {port}, "smtp.security": {"none"},
			"smtp.username": {"service@shop.cn"}, "smtp.password": {"smtp-secret"}, "ack_zh": {"您的工单 {{key}} 已收到"}}
		p := b.post("/admin/mailboxes", form)
		want(t, p, 422, "Nothing was saved", `id="a-address-error"`, `id="a-imap.port-error"`, `id="a-imap.username-error"`,
			`value="Shop service"`, "您的工单 {{key}} 已收到")
		if strings.Contains(p.body, "imap-secret") || strings.Contains(p.body, "smtp-secret") {
			t.Error("a refused form echoes a password")
		}
		if list, _ := mbs.List(sysCtx()); len(list) != 0 {
			t.Fatalf("a refused mailbox was saved: %+v", list)
		}

		form.Set("address", "Service@Shop.cn")
		form.Set("imap.port", port)
		form.Set("imap.username", "service@shop.cn")
		p = b.post("/admin/mailboxes", form)
		want(t, p, 200, "Saved: service@shop.cn", "A password is stored. Leave blank to keep it.", "Test connection")
		if strings.Contains(p.body, "imap-secret") || strings.Contains(p.body, "smtp-secret") || strings.Contains(p.body, email.Hidden) {
			t.Error("the saved form shows a password")
		}
		m := mailboxPath.FindStringSubmatch(p.Request.URL.String())
		if m == nil {
			t.Fatalf("no mailbox page: %s", p.Request.URL)
		}
		id := m[1]

		// Blank passwords keep the stored ones; a stale version is refused.
		form.Set("version", "1")
		form.Set("imap.password", "")
		form.Set("smtp.password", "")
		form.Set("display_name", "Shop customer service")
		want(t, b.post("/admin/mailboxes/"+id, form), 200, "Saved: service@shop.cn")
		got, err := mbs.Get(sysCtx(), id)
		if err != nil || got.IMAP.Password != "imap-secret" || got.SMTP.Password != "smtp-secret" || got.DisplayName != "Shop customer service" {
			t.Fatalf("after an edit with blank passwords: %+v %v", got, err)
		}
		form.Set("display_name", "Stale")
		want(t, b.post("/admin/mailboxes/"+id, form), 409, "Someone changed this mailbox meanwhile")
		if got, _ := mbs.Get(sysCtx(), id); got.DisplayName != "Shop customer service" {
			t.Fatalf("a stale edit was saved: %q", got.DisplayName)
		}

		// The connection test fails clearly, and quickly, on a closed port.
		start := time.Now()
		p = b.send("POST", "/admin/mailboxes/"+id+"/test", nil)
		want(t, p, 200, `id="mb-check-imap"`, `id="mb-check-smtp"`, "failed:", port)
		if time.Since(start) > 15*time.Second {
			t.Errorf("the connection test took %s", time.Since(start))
		}
		want(t, b.post("/admin/mailboxes/"+id+"/test", nil), 200, `id="mb-check-imap"`, "Edit service@shop.cn")

		// The deny list: a bad pattern is refused under its field.
		want(t, b.post("/admin/mailboxes/deny", url.Values{"pattern": {"not a pattern!"}, "note": {"spam"}}), 422,
			`id="a-pattern-error"`, `value="not a pattern!"`)
		want(t, b.post("/admin/mailboxes/deny", url.Values{"pattern": {"Spam.example"}, "note": {"bulk mail"}}), 200,
			"Saved: spam.example", "bulk mail")
		if d, _ := mbs.DenyList(sysCtx()); len(d) != 1 || d[0].Pattern != "spam.example" {
			t.Fatalf("deny list: %+v", d)
		}
		want(t, b.post("/admin/mailboxes/allow", url.Values{"pattern": {"spam.example"}}), 200)
		if d, _ := mbs.DenyList(sysCtx()); len(d) != 0 {
			t.Fatalf("deny list after removing: %+v", d)
		}

		want(t, b.post("/admin/mailboxes/"+id+"/delete", nil), 200, "No mailboxes yet.")
	})
}
