package web_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/api"
	"github.com/kefu-desk/kefu/internal/auth"
	"github.com/kefu-desk/kefu/internal/blob"
	"github.com/kefu-desk/kefu/internal/customer"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/events"
	"github.com/kefu-desk/kefu/internal/team"
	"github.com/kefu-desk/kefu/internal/ticket"
	"github.com/kefu-desk/kefu/internal/web"
)

const password = "correct horse battery"

// env is a console on a fresh store with an admin, an agent and a ticket.
type env struct {
	t       *testing.T
	db      *database.DB
	url     string
	tickets *ticket.Service
	team    *team.Service
	bus     *events.Bus
	admin   team.Staff
	agent   team.Staff
	ticket  *ticket.Ticket
}

// newEnv builds the console; opts add optional services to its Deps.
func newEnv(t *testing.T, db *database.DB, opts ...func(*web.Deps)) *env {
	t.Helper()
	now := func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
	cust := &customer.Service{DB: db, Now: now}
	tk := &ticket.Service{DB: db, Now: now, Blobs: blob.Dir{Root: filepath.Join(t.TempDir(), "blobs")}, Customers: cust}
	tm := &team.Service{DB: db, Now: now}
	au := &auth.Service{DB: db, Team: tm, Now: now, Params: auth.TestParams}
	tm.Hash = au.HashPassword
	bus := events.New(db, nil)
	t.Cleanup(bus.Close)
	tk.Hooks = append(tk.Hooks, events.Hook{Bus: bus})
	sessions := api.NewSessions(&auth.SessionStore{DB: db, Now: now}, false)
	deps := web.Deps{DB: db, Tickets: tk, Customers: cust, Team: tm, Auth: au, Sessions: sessions, Events: bus, Now: now}
	for _, o := range opts {
		o(&deps)
	}
	w := web.New(deps)

	sys := kefu.WithActor(context.Background(), kefu.System)
	dept, err := tm.CreateDepartment(sys, team.NewDepartment{Slug: "customer-service", Name: "Customer service", NameZh: "客服部"})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := tm.CreateStaff(sys, team.NewStaff{Email: "admin@example.com", Name: "Ada Admin", Role: kefu.RoleAdmin, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	agent, err := tm.CreateStaff(sys, team.NewStaff{Email: "li.na@example.com", Name: "李娜", Role: kefu.RoleAgent, Language: "zh-CN",
		Departments: []string{dept.ID}, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	cats, err := tk.Categories(sys)
	if err != nil || len(cats) == 0 {
		t.Fatalf("categories: %v %v", cats, err)
	}
	tic, err := tk.Create(sys, ticket.NewTicket{Subject: "羊毛大衣尺码", Customer: ticket.CustomerRef{Name: "王芳", Email: "wang@example.com"},
		Channel: "email", Category: cats[0].Key, DepartmentID: dept.ID,
		Message: ticket.NewMessage{Kind: ticket.FromCustomer, Text: "我穿M码。\n\n在 2025年11月3日，客服 写道：\n> 您好\n> 请问尺码"}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", w.Handler())
	csrf := http.NewCrossOriginProtection()
	csrf.AddInsecureBypassPattern("/chat/v1/") // as cmd/kefu does: the chat widget is cross-site by design
	srv := httptest.NewServer(api.RemoteAddr(csrf.Handler(sessions.LoadAndSave(mux))))
	t.Cleanup(srv.Close)
	return &env{t: t, db: db, url: srv.URL, tickets: tk, team: tm, bus: bus, admin: admin, agent: agent, ticket: tic}
}

// browser is a signed-in cookie jar.
type browser struct {
	e *env
	c *http.Client
}

func (e *env) signin(email string) *browser {
	e.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	b := &browser{e: e, c: c}
	res := b.post("/signin", url.Values{"email": {email}, "password": {password}})
	if !strings.Contains(res.Request.URL.Path, "/queue/") {
		e.t.Fatalf("sign in as %s ended at %s (%d)", email, res.Request.URL, res.StatusCode)
	}
	return b
}

type page struct {
	*http.Response
	body string
}

func (b *browser) do(req *http.Request) page {
	b.e.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return page{res, string(raw)}
}

func (b *browser) get(path string, headers ...string) page {
	req, _ := http.NewRequest("GET", b.e.url+path, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return b.do(req)
}

func (b *browser) send(method, path string, form url.Values) page {
	req, _ := http.NewRequest(method, b.e.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("HX-Request", "true")
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) page {
	req, _ := http.NewRequest("POST", b.e.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}

func want(t *testing.T, p page, code int, texts ...string) {
	t.Helper()
	if p.StatusCode != code {
		t.Fatalf("%s %s: status %d, want %d\n%s", p.Request.Method, p.Request.URL.Path, p.StatusCode, code, p.body)
	}
	for _, s := range texts {
		if !strings.Contains(p.body, s) {
			t.Errorf("%s %s: no %q in\n%s", p.Request.Method, p.Request.URL.Path, s, p.body)
		}
	}
}

func TestSignInAndQueues(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		anon := &browser{e: e, c: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
		if p := anon.get("/queue/mine"); p.StatusCode != http.StatusSeeOther || !strings.HasPrefix(p.Header.Get("Location"), "/signin") {
			t.Fatalf("anonymous queue: %d %s", p.StatusCode, p.Header.Get("Location"))
		}
		if p := anon.get("/events", "Accept", "text/event-stream"); p.StatusCode != http.StatusNoContent {
			t.Fatalf("anonymous stream: %d; want 204 so EventSource stops", p.StatusCode)
		}
		want(t, anon.post("/signin", url.Values{"email": {"admin@example.com"}, "password": {"wrong password!"}}), 401, "Wrong email or password")
		want(t, anon.get("/signin", "Accept-Language", "zh-CN,zh;q=0.9"), 200, "登录")

		b := e.signin("admin@example.com")
		want(t, b.get("/queue/unassigned"), 200, e.ticket.Key, "羊毛大衣尺码", "Unassigned")
		want(t, b.get("/counts?active=unassigned"), 200, `data-count="unassigned">1<`)
		want(t, b.get("/queue/custom?status=new&department=none"), 200, "No tickets here.")

		// Counts are shared between consoles but never outlive a change.
		me := e.admin.ID
		if _, err := e.tickets.Update(kefu.WithActor(context.Background(), kefu.System), e.ticket.ID, 0, ticket.Patch{AssigneeID: &me}); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(2 * time.Second)
		for !strings.Contains(b.get("/counts").body, `data-count="unassigned">0<`) {
			if time.Now().After(deadline) {
				t.Fatalf("unassigned count not updated after assigning: %s", b.get("/counts").body)
			}
			time.Sleep(20 * time.Millisecond)
		}
		want(t, b.get("/counts"), 200, `data-count="mine">1<`)
		want(t, b.get("/queue/nonsense"), 404)

		// The agent's saved language shows; the queue of their department is there.
		li := e.signin("li.na@example.com")
		want(t, li.get("/queue/unassigned"), 200, "未分配", "客服部")

		// Saved views belong to their owner.
		p := b.post("/views", url.Values{"name": {"Urgent email"}, "priority": {"urgent"}, "channel": {"email"}})
		want(t, p, 200, "Urgent email")
		if !strings.HasPrefix(p.Request.URL.Path, "/queue/v-") {
			t.Fatalf("saved view page at %s", p.Request.URL.Path)
		}
		want(t, li.get(p.Request.URL.Path), 404)
		want(t, b.post("/views", url.Values{"name": {"Urgent email"}, "priority": {"urgent"}}), 422, "already have a view")

		// Signing out ends the session for the API too.
		b.post("/signout", nil)
		if p := b.get("/queue/mine"); !strings.HasPrefix(p.Request.URL.Path, "/signin") {
			t.Fatalf("after sign-out the queue answered at %s", p.Request.URL.Path)
		}
	})
}

func TestTicketPageEditsAndStaleRefusal(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		b := e.signin("admin@example.com")
		p := b.get("/t/" + e.ticket.Key)
		// Quoted mail is folded, never dropped.
		want(t, p, 200, "羊毛大衣尺码", "王芳", `<details class="quoted">`, "请问尺码", "wang@example.com")

		v := e.ticket.Version
		form := url.Values{"version": {itoa(v)}, "seen.status": {"new"}, "status": {"open"}, "seen.priority": {"normal"}, "priority": {"normal"}}
		want(t, b.send("PATCH", "/t/"+e.ticket.Key, form), 200, `value="open" selected`)

		// The same form again carries the old version: refused, with what changed.
		form.Set("status", "pending_customer")
		form.Set("seen.status", "new")
		want(t, b.send("PATCH", "/t/"+e.ticket.Key, form), 409, "Someone changed this ticket", "New → Open", "was not saved")
		cur, _ := e.tickets.Get(kefu.WithActor(context.Background(), kefu.System), e.ticket.ID)
		if cur.Status != ticket.Open {
			t.Fatalf("status %s after a refused edit; want open", cur.Status)
		}

		// A refused transition shows the field error.
		form = url.Values{"version": {itoa(cur.Version)}, "seen.status": {"open"}, "status": {"new"}}
		want(t, b.send("PATCH", "/t/"+e.ticket.Key, form), 422, "cannot move")

		// The quick buttons.
		form = url.Values{"version": {itoa(cur.Version)}, "quick": {"assign-me"}}
		want(t, b.send("PATCH", "/t/"+e.ticket.Key, form), 200)
		cur, _ = e.tickets.Get(kefu.WithActor(context.Background(), kefu.System), e.ticket.ID)
		if cur.AssigneeID != e.admin.ID {
			t.Fatalf("assignee %q after assign to me", cur.AssigneeID)
		}
		want(t, b.get("/t/"+e.ticket.Key+"/audit"), 200, "assignee_id")

		// A message moves only the version: an edit of what the editor
		// saw still applies.
		old := cur.Version
		if _, _, err := e.tickets.AddMessage(kefu.WithActor(context.Background(), kefu.System), e.ticket.ID, ticket.NewMessage{Kind: ticket.Note, Text: "内部备注"}); err != nil {
			t.Fatal(err)
		}
		form = url.Values{"version": {itoa(old)}, "seen.priority": {string(cur.Priority)}, "priority": {"high"}, "seen.status": {string(cur.Status)}, "status": {string(cur.Status)}}
		want(t, b.send("PATCH", "/t/"+e.ticket.Key, form), 200, `value="high" selected`)
	})
}

func TestReplyWithAttachmentAndNote(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		b := e.signin("admin@example.com")
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		mw.WriteField("kind", "reply")
		mw.WriteField("text", "建议选 M 码。")
		mw.WriteField("proposes_solution", "1")
		fw, _ := mw.CreateFormFile("files", "尺码表.png")
		png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
		fw.Write(png)
		mw.Close()
		req, _ := http.NewRequest("POST", e.url+"/t/"+e.ticket.Key+"/messages", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.Header.Set("HX-Request", "true")
		want(t, b.do(req), 200, "Saved.")

		p := b.get("/t/" + e.ticket.Key + "/thread")
		want(t, p, 200, "建议选 M 码。", "尺码表.png", "Proposes a solution")
		id := regexp.MustCompile(`/attachments/([0-9a-f-]{36})`).FindStringSubmatch(p.body)
		if id == nil {
			t.Fatal("no attachment link in the thread")
		}
		att := b.get("/attachments/" + id[1])
		want(t, att, 200)
		if att.Header.Get("Content-Type") != "image/png" || att.body != string(png) {
			t.Fatalf("attachment: %s, %d bytes", att.Header.Get("Content-Type"), len(att.body))
		}

		want(t, b.send("POST", "/t/"+e.ticket.Key+"/messages", url.Values{"kind": {"note"}, "text": {""}}), 422)
		want(t, b.send("POST", "/t/"+e.ticket.Key+"/messages", url.Values{"kind": {"note"}, "text": {"@李娜 请看一下"}}), 200)
		want(t, b.get("/t/"+e.ticket.Key+"/thread"), 200, `class="msg note"`, "@李娜 请看一下")
	})
}

func TestBulkReportsEachFailure(t *testing.T) {
	e := newEnv(t, databasetest.Open(t, "sqlite"))
	b := e.signin("admin@example.com")
	sys := kefu.WithActor(context.Background(), kefu.System)
	closed, err := e.tickets.Create(sys, ticket.NewTicket{Subject: "closed one", Customer: ticket.CustomerRef{Email: "x@example.com"}, Channel: "email",
		Category: e.ticket.Category, Message: ticket.NewMessage{Kind: ticket.FromCustomer, Text: "hi"}})
	if err != nil {
		t.Fatal(err)
	}
	st := ticket.Closed
	if closed, err = e.tickets.Update(sys, closed.ID, 0, ticket.Patch{Status: &st}); err != nil {
		t.Fatal(err)
	}
	p := b.send("POST", "/bulk", url.Values{"id": {e.ticket.ID, closed.ID}, "action": {"status"}, "status": {"solved"}})
	want(t, p, 200, "1 of 2 tickets changed", closed.Key)
	if p.Header.Get("HX-Trigger") != "refresh-list" {
		t.Errorf("HX-Trigger %q", p.Header.Get("HX-Trigger"))
	}
	want(t, b.send("POST", "/bulk", url.Values{"id": {e.ticket.ID}, "action": {"tag"}, "tag": {"vip"}}), 200, "1 of 1")
	cur, _ := e.tickets.Get(sys, e.ticket.ID)
	if cur.Status != ticket.Solved || len(cur.Tags) != 1 || cur.Tags[0] != "vip" {
		t.Fatalf("after bulk: %s %v", cur.Status, cur.Tags)
	}
}

func TestLanguageSwitchIsSaved(t *testing.T) {
	e := newEnv(t, databasetest.Open(t, "sqlite"))
	b := e.signin("admin@example.com")
	want(t, b.post("/language", url.Values{"language": {"zh-CN"}}), 200, "我的待办")
	st, err := e.team.GetStaff(kefu.WithActor(context.Background(), kefu.System), e.admin.ID)
	if err != nil || st.Language != "zh-CN" {
		t.Fatalf("language %q, %v", st.Language, err)
	}
}

func TestStaticAssetsAreCachedByHash(t *testing.T) {
	e := newEnv(t, databasetest.Open(t, "sqlite"))
	b := e.signin("admin@example.com")
	p := b.get("/queue/mine")
	m := regexp.MustCompile(`/static/([0-9a-f]{12})/app\.css`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatal("no hashed stylesheet link")
	}
	css := b.get(m[0])
	want(t, css, 200, "--accent")
	if !strings.Contains(css.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("Cache-Control %q", css.Header.Get("Cache-Control"))
	}
	if old := b.get("/static/000000000000/app.css"); old.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("old hash Cache-Control %q", old.Header.Get("Cache-Control"))
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestAdminFormsShowFieldErrorsAndSaveNothing(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db)
		b := e.signin("admin@example.com")
		for _, path := range []string{"/admin/staff", "/admin/departments", "/admin/categories", "/admin/fields", "/admin/tokens", "/admin/audit", "/admin/staff/" + e.agent.ID} {
			want(t, b.get(path), 200)
		}
		p := b.post("/admin/departments", url.Values{"name": {"After-sales"}, "name_zh": {"售后"}, "slug": {"After Sales"}})
		want(t, p, 422, "Nothing was saved", `id="a-slug-error"`, "lower-case letters", `value="售后"`)
		want(t, b.get("/admin/departments"), 200)
		if strings.Contains(b.get("/admin/departments").body, "售后") {
			t.Fatal("a refused department was saved")
		}
		want(t, b.post("/admin/departments", url.Values{"name": {"After-sales"}, "name_zh": {"售后"}, "slug": {"after-sales"}}), 200, "Saved: After-sales", "售后")

		want(t, b.post("/admin/staff", url.Values{"name": {""}, "email": {"not an email"}, "role": {"agent"}, "language": {"en"}}), 422,
			`id="a-email-error"`, `id="a-name-error"`)
		want(t, b.post("/admin/fields", url.Values{"key": {"size"}, "label_en": {"Size"}, "type": {"select"}, "position": {"1"}}), 422, "at least one option")
		want(t, b.post("/admin/fields", url.Values{"key": {"size"}, "label_en": {"Size"}, "type": {"select"}, "options": {"S, M, L"}, "position": {"1"}}), 200, "S, M, L")

		p = b.post("/admin/tokens", url.Values{"name": {"shop sync"}, "scopes": {"tickets:read"}})
		want(t, p, 200, "shown only this once", "kfu_")

		li := e.signin("li.na@example.com")
		want(t, li.get("/admin/staff"), 403)
		want(t, li.get("/admin/audit"), 403)
	})
}

// secondInstance serves the console from a second set of services and
// its own event bus on the same store, as a second Kefu instance would.
func (e *env) secondInstance() (url string, tickets *ticket.Service) {
	t, db := e.t, e.db
	now := func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
	cust := &customer.Service{DB: db, Now: now}
	tk := &ticket.Service{DB: db, Now: now, Blobs: blob.Dir{Root: filepath.Join(t.TempDir(), "blobs")}, Customers: cust}
	tm := &team.Service{DB: db, Now: now}
	au := &auth.Service{DB: db, Team: tm, Now: now, Params: auth.TestParams}
	tm.Hash = au.HashPassword
	bus := events.New(db, nil)
	t.Cleanup(bus.Close)
	if err := bus.WaitReady(context.Background()); err != nil {
		t.Fatal(err)
	}
	tk.Hooks = append(tk.Hooks, events.Hook{Bus: bus})
	sessions := api.NewSessions(&auth.SessionStore{DB: db, Now: now}, false)
	w := web.New(web.Deps{DB: db, Tickets: tk, Customers: cust, Team: tm, Auth: au, Sessions: sessions, Events: bus, Now: now})
	srv := httptest.NewServer(api.RemoteAddr(sessions.LoadAndSave(w.Handler())))
	t.Cleanup(srv.Close)
	return srv.URL, tk
}

// A change made on one instance reaches a console streaming from
// another within a second: through LISTEN/NOTIFY on PostgreSQL. (On
// SQLite there is one process, so the second "instance" shares nothing
// but the file and hears only its own changes; that case is the e2e's.)
func TestLiveEventCrossesInstances(t *testing.T) {
	e := newEnv(t, databasetest.Open(t, "postgres"))
	if err := e.bus.WaitReady(context.Background()); err != nil {
		t.Fatal(err)
	}
	otherURL, _ := e.secondInstance()
	// The console signs in on the other instance: sessions are in the
	// database, so the cookie from the first works there too.
	b := e.signin("admin@example.com")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", otherURL+"/events?ticket="+e.ticket.Key, nil)
	u, _ := url.Parse(e.url)
	for _, c := range b.c.Jar.Cookies(u) {
		req.AddCookie(c)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	<-lines // "retry: …" — the stream is subscribed before it writes
	started := time.Now()
	st := ticket.Open
	if _, err := e.tickets.Update(kefu.WithActor(context.Background(), kefu.System), e.ticket.ID, 0, ticket.Patch{Status: &st}); err != nil {
		t.Fatal(err)
	}
	for l := range lines {
		if l == "event: ticket" {
			if d := time.Since(started); d > time.Second {
				t.Errorf("the change took %s to reach the other instance's console", d)
			}
			return
		}
	}
	t.Fatal("the stream ended before the change arrived")
}

func TestAuditorReadsButCannotWrite(t *testing.T) {
	e := newEnv(t, databasetest.Open(t, "sqlite"))
	sys := kefu.WithActor(context.Background(), kefu.System)
	if _, err := e.team.CreateStaff(sys, team.NewStaff{Email: "audit@example.com", Name: "林审计", Role: kefu.RoleAuditor, Language: "en", Password: password}); err != nil {
		t.Fatal(err)
	}
	b := e.signin("audit@example.com")
	p := b.get("/t/" + e.ticket.Key)
	want(t, p, 200, "can read this ticket but not change it", "<fieldset disabled")
	if strings.Contains(p.body, `id="composer"`) {
		t.Error("an auditor gets a composer")
	}
	want(t, b.send("PATCH", "/t/"+e.ticket.Key, url.Values{"version": {itoa(e.ticket.Version)}, "seen.status": {"new"}, "status": {"open"}}), 403)
	want(t, b.get("/admin/audit"), 200, "Audit log")
	want(t, b.get("/admin/staff"), 403)
}

func TestMergeByKey(t *testing.T) {
	e := newEnv(t, databasetest.Open(t, "sqlite"))
	b := e.signin("admin@example.com")
	sys := kefu.WithActor(context.Background(), kefu.System)
	dup, err := e.tickets.Create(sys, ticket.NewTicket{Subject: "又问尺码", Customer: ticket.CustomerRef{Email: "wang@example.com"}, Channel: "chat",
		Category: e.ticket.Category, Message: ticket.NewMessage{Kind: ticket.FromCustomer, Text: "还在吗？"}})
	if err != nil {
		t.Fatal(err)
	}
	want(t, b.send("POST", "/t/"+e.ticket.Key+"/merge", url.Values{"source": {"KF-99999"}}), 422, "There is no ticket KF-99999")
	p := b.send("POST", "/t/"+e.ticket.Key+"/merge", url.Values{"source": {strings.ToLower(dup.Key)}})
	if p.StatusCode != http.StatusNoContent || p.Header.Get("HX-Location") != "/t/"+e.ticket.Key {
		t.Fatalf("merge: %d %q", p.StatusCode, p.Header.Get("HX-Location"))
	}
	// The merged ticket's page leads to the target, whose thread has its message.
	got := b.get("/t/" + dup.Key)
	if got.Request.URL.Path != "/t/"+e.ticket.Key || !strings.Contains(got.body, "还在吗？") {
		t.Fatalf("merged ticket page at %s", got.Request.URL.Path)
	}
}
