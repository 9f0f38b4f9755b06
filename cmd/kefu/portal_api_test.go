package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/auth"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/portal"
)

// ---- The contact form's API ----

var contactPNG = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x02\x00\x00\x00\x02\x08\x02\x00\x00\x00")

// exercisePortal walks the contact routes: the categories, a refused
// submission answered with problem+json field by field (and nothing
// stored), one that opens a web-form ticket with its photo, and the rate
// limit per network address with Retry-After.
func exercisePortal(t *testing.T, app *App, c *apiClient) {
	anon := c.as("")
	cats := anon.want(anon.do("GET", "/contact/categories", nil), 200)
	if !strings.Contains(string(cats.body), `"return_exchange"`) || !strings.Contains(string(cats.body), "退换货") {
		t.Errorf("contact categories: %s", cats.body)
	}
	count := func() int {
		var n int
		app.DB.Read.QueryRow(`SELECT count(*) FROM tickets`).Scan(&n)
		return n
	}
	before := count()
	bad := anon.want(anon.do("POST", "/contact", map[string]any{"name": "王芳", "email": "wang at example", "category": "nope", "description": " ",
		"photos": []map[string]any{{"filename": "x.jpg", "data": base64.StdEncoding.EncodeToString([]byte("MZ not a photo"))}}}), 422)
	for _, field := range []string{"body.email", "body.category", "body.description", "body.photos[0]"} {
		if !strings.Contains(string(bad.body), `"`+field+`"`) {
			t.Errorf("no error located at %s: %s", field, bad.body)
		}
	}
	if ct := bad.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("a refused submission answered %s", ct)
	}
	if count() != before {
		t.Fatal("a refused submission stored a ticket")
	}
	ok := anon.want(anon.do("POST", "/contact", map[string]any{"name": "王芳", "email": "wang.fang@example.cn", "category": "return_exchange",
		"order_number": "SO-5001", "description": "拉链坏了", "language": "zh-CN",
		"photos": []map[string]any{{"filename": "拉链.png", "data": base64.StdEncoding.EncodeToString(contactPNG)}}}), 201)
	tk, err := app.Tickets.Get(kefu.WithActor(context.Background(), kefu.System), ok.field(t, "key"))
	if err != nil || tk.Channel != "web_form" || tk.ID != ok.field(t, "ticket_id") {
		t.Fatalf("submitted ticket: %+v, %v", tk, err)
	}
	var limited response
	for range portal.DefaultLimits.SubmitBurst {
		limited = anon.do("POST", "/contact", map[string]any{"name": "Bot", "phone": "13800138000", "category": "other", "description": "again"})
		if limited.status == http.StatusTooManyRequests {
			break
		}
	}
	if limited.status != http.StatusTooManyRequests || limited.header.Get("Retry-After") == "" {
		t.Errorf("no 429 with Retry-After after a burst: %d %s", limited.status, limited.body)
	}
}

// The real handler's CSRF guard (http.CrossOriginProtection) refuses the
// contact form posted from another site's page, and accepts it from
// Kefu's own page or frame (same-origin), which is how shops embed it.
func TestContactFormBehindCSRFGuard(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		app := newApp(db, t.TempDir(), false, clock, auth.TestParams)
		srv := httptest.NewServer(app.Handler())
		t.Cleanup(srv.Close)
		post := func(site string) *http.Response {
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			for k, v := range map[string]string{"name": "Lin", "email": "lin@example.com", "category": "other", "description": "Hello"} {
				mw.WriteField(k, v)
			}
			mw.Close()
			req, _ := http.NewRequest("POST", srv.URL+"/contact/embed", &body)
			req.Header.Set("Content-Type", mw.FormDataContentType())
			req.Header.Set("Sec-Fetch-Site", site)
			res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			return res
		}
		if res := post("cross-site"); res.StatusCode != http.StatusForbidden {
			t.Fatalf("cross-site post: %d", res.StatusCode)
		}
		var n int
		db.Read.QueryRow(`SELECT count(*) FROM tickets`).Scan(&n)
		if n != 0 {
			t.Fatalf("a refused post stored %d tickets", n)
		}
		if res := post("same-origin"); res.StatusCode != http.StatusSeeOther || !strings.Contains(res.Header.Get("Location"), "t=KF-") {
			t.Fatalf("post from the frame: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
	})
}
