package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/auth"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/team"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// apiClient sends requests to a test server and checks every response
// against the OpenAPI document the server publishes, recording which
// operations answered with success.
type apiClient struct {
	t      *testing.T
	base   string
	http   *http.Client
	router routers.Router
	doc    *openapi3.T
	token  string
	mu     *sync.Mutex
	seen   map[string]bool // operation id → answered 2xx
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (r response) field(t *testing.T, name string) string {
	t.Helper()
	var m map[string]any
	r.json(t, &m)
	return fmt.Sprint(m[name])
}

func startAPI(t *testing.T, db *database.DB) (*App, *apiClient) {
	t.Helper()
	return startAPIAt(t, db, clock)
}

// startAPIAt is startAPI with the clock every service of the app reads.
func startAPIAt(t *testing.T, db *database.DB, now func() time.Time) (*App, *apiClient) {
	t.Helper()
	app := newApp(db, t.TempDir(), false, now, auth.TestParams)
	srv := httptest.NewServer(app.Handler())
	t.Cleanup(srv.Close)

	res, err := http.Get(srv.URL + "/api/v1/openapi-3.0.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatalf("load OpenAPI document: %v", err)
	}
	doc.Servers = openapi3.Servers{{URL: srv.URL + "/api/v1"}}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the published OpenAPI document is invalid: %v", err)
	}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	return app, &apiClient{t: t, base: srv.URL + "/api/v1", http: &http.Client{Jar: jar}, router: router, doc: doc, mu: &sync.Mutex{}, seen: map[string]bool{}}
}

// as returns a client with its own cookies, optionally using a token.
func (c *apiClient) as(token string) *apiClient {
	jar, _ := cookiejar.New(nil)
	d := *c
	d.http = &http.Client{Jar: jar}
	d.token = token
	return &d
}

func (c *apiClient) do(method, path string, body any, headers ...string) response {
	c.t.Helper()
	var rd io.Reader
	var raw []byte
	if body != nil {
		if s, ok := body.(string); ok {
			raw = []byte(s)
		} else {
			raw, _ = json.Marshal(body)
		}
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	c.validate(req, raw, res, out)
	return response{status: res.StatusCode, header: res.Header, body: out}
}

// validate checks the response against the document: status, headers and
// body schema (problem+json for errors).
func (c *apiClient) validate(req *http.Request, reqBody []byte, res *http.Response, body []byte) {
	c.t.Helper()
	vreq, _ := http.NewRequest(req.Method, req.URL.String(), bytes.NewReader(reqBody))
	vreq.Header = req.Header.Clone()
	route, params, err := c.router.FindRoute(vreq)
	if err != nil {
		c.t.Fatalf("%s %s: not in the OpenAPI document: %v", req.Method, req.URL.Path, err)
	}
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: res.StatusCode, Header: res.Header, Body: io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true}})
	if err != nil {
		c.t.Errorf("%s %s → %d does not match the OpenAPI document: %v\nbody: %.500s", req.Method, req.URL.Path, res.StatusCode, err, body)
	}
	if res.StatusCode < 300 {
		c.mu.Lock()
		c.seen[route.Operation.OperationID] = true
		c.mu.Unlock()
	}
}

func (c *apiClient) want(r response, status int) response {
	c.t.Helper()
	if r.status != status {
		c.t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	return r
}

// TestAPIContract walks every route on both engines, validating every
// response against the published OpenAPI document, and fails if any
// documented operation was never answered successfully.
func TestAPIContract(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		app, c := startAPI(t, db)
		ctx := kefu.WithActor(context.Background(), kefu.System)
		admin, err := app.Team.CreateStaff(ctx, team.NewStaff{Email: "boss@shop.cn", Name: "老板", Role: kefu.RoleAdmin, Password: "correct horse battery"})
		if err != nil {
			t.Fatal(err)
		}

		// Anonymous requests are refused everywhere but sign-in.
		c.want(c.do("GET", "/tickets", nil), 401)
		c.want(c.do("POST", "/auth/login", map[string]string{"email": "boss@shop.cn", "password": "wrong password!"}), 401)
		c.want(c.do("POST", "/auth/login", map[string]string{"email": "boss@shop.cn", "password": "correct horse battery"}), 200)
		me := c.want(c.do("GET", "/me", nil), 200)
		if me.field(t, "id") != admin.ID {
			t.Fatalf("me = %s", me.body)
		}
		c.want(c.do("PATCH", "/me", map[string]string{"language": "zh-CN"}), 200)
		c.want(c.do("POST", "/me/password", map[string]string{"current_password": "correct horse battery", "new_password": "correct horse battery 2"}), 204)

		// Team.
		dep := c.want(c.do("POST", "/departments", map[string]string{"slug": "after-sales", "name": "After-sales", "name_zh": "售后部"}), 201)
		depID := dep.field(t, "id")
		c.want(c.do("PATCH", "/departments/"+depID, map[string]string{"description": "Returns, repairs"}), 200)
		c.want(c.do("GET", "/departments", nil), 200)
		agent := c.want(c.do("POST", "/staff", map[string]any{"email": "li@shop.cn", "name": "李娜", "role": "agent", "departments": []string{"after-sales"}, "password": "agent password 1"}), 201)
		agentID := agent.field(t, "id")
		c.want(c.do("GET", "/staff?department=after-sales", nil), 200)
		c.want(c.do("GET", "/staff/"+agentID, nil), 200)
		c.want(c.do("PATCH", "/staff/"+agentID, map[string]string{"name": "李娜 Li Na"}), 200)
		c.want(c.do("POST", "/staff/"+agentID+"/password", map[string]string{"password": "agent password 2"}), 204)
		c.want(c.do("POST", "/staff/"+agentID+"/disable", map[string]string{"reason": "left the company"}), 200)
		c.want(c.do("POST", "/staff/"+agentID+"/enable", nil), 200)

		// Configuration.
		c.want(c.do("GET", "/categories", nil), 200)
		c.want(c.do("PUT", "/categories/alteration", map[string]any{"name_en": "Alteration", "name_zh": "改衣", "position": 65}), 200)
		c.want(c.do("PUT", "/custom-fields/size", map[string]any{"label_en": "Size", "label_zh": "尺码", "type": "select", "options": []string{"S", "M", "L", "XL"}}), 200)
		c.want(c.do("GET", "/custom-fields", nil), 200)

		// Tokens: an agent-scoped integration token.
		tok := c.want(c.do("POST", "/tokens", map[string]any{"name": "shop integration", "scopes": []string{"tickets:read", "tickets:write", "customers:read"}}), 201)
		var created struct {
			Token  string
			Detail auth.Token
		}
		tok.json(t, &created)
		c.want(c.do("GET", "/tokens", nil), 200)
		bot := c.as(created.Token)

		// Tickets through the token, with an idempotent retry.
		newTicket := map[string]any{"subject": "连衣裙尺码偏小，申请换货", "channel": "api", "category": "return_exchange", "department_id": depID,
			"order_number": "so-88001", "tags": []string{"vip"}, "custom_fields": map[string]any{"size": "M"},
			"customer": map[string]any{"email": "wang.fang@example.cn", "name": "王芳"},
			"message":  map[string]any{"text": "收到的连衣裙偏小，想换大一号。", "attachments": []map[string]any{{"filename": "照片.jpg", "content_type": "image/jpeg", "data": "aGVsbG8="}}}}
		first := bot.want(bot.do("POST", "/tickets", newTicket, "Idempotency-Key", "order-88001-1"), 201)
		again := bot.want(bot.do("POST", "/tickets", newTicket, "Idempotency-Key", "order-88001-1"), 201)
		if first.field(t, "id") != again.field(t, "id") || again.header.Get("ETag") != `"1"` {
			t.Fatalf("a retried create made a second ticket or lost its ETag: %s vs %s", first.body, again.body)
		}
		newTicket["subject"] = "different"
		bot.want(bot.do("POST", "/tickets", newTicket, "Idempotency-Key", "order-88001-1"), 422)
		ticketID := first.field(t, "id")
		key := first.field(t, "key")
		bot.want(bot.do("GET", "/tickets/"+key, nil), 200)
		bot.want(bot.do("GET", "/tickets?status=new,open&tag=vip&order_number=SO-88001", nil), 200)
		bot.want(bot.do("PATCH", "/tickets/"+ticketID, map[string]string{"assignee_id": agentID}, "If-Match", `"1"`), 200)
		stale := bot.want(bot.do("PATCH", "/tickets/"+ticketID, map[string]string{"priority": "high"}, "If-Match", `"1"`), 412)
		if stale.header.Get("ETag") != `"2"` || !strings.Contains(string(stale.body), `"current"`) {
			t.Errorf("412 without the current version: %s %s", stale.header, stale.body)
		}
		msg := bot.want(bot.do("POST", "/tickets/"+ticketID+"/messages", map[string]any{"kind": "reply", "text": "已为您登记换货。", "proposes_solution": true}), 201)
		_ = msg
		msgs := bot.want(bot.do("GET", "/tickets/"+ticketID+"/messages", nil), 200)
		var thread struct {
			Messages []struct{ Attachments []struct{ ID string } }
		}
		msgs.json(t, &thread)
		att := c.want(c.do("GET", "/attachments/"+thread.Messages[0].Attachments[0].ID, nil), 200)
		if string(att.body) != "hello" {
			t.Errorf("attachment body %q", att.body)
		}
		other := bot.want(bot.do("POST", "/tickets", map[string]any{"subject": "物流查询", "channel": "phone", "customer": map[string]any{"phone": "+86 138 0013 8000"}, "message": map[string]any{"text": "包裹到哪了"}}), 201)
		c.want(c.do("POST", "/tickets/"+ticketID+"/merge", map[string]string{"source_id": other.field(t, "id")}), 200)
		c.want(c.do("GET", "/tickets/"+ticketID+"/audit", nil), 200)

		// Customers.
		cust := c.want(c.do("POST", "/customers", map[string]any{"name": "Olivia Smith", "language": "en", "identities": []map[string]string{{"kind": "email", "value": "olivia@example.com"}}}), 201)
		custID := cust.field(t, "id")
		c.want(c.do("GET", "/customers?q=olivia", nil), 200)
		c.want(c.do("GET", "/customers/"+custID, nil), 200)
		c.want(c.do("PATCH", "/customers/"+custID, map[string]any{"tier": "gold", "birthday": "1990-05-17"}, "If-Match", `"1"`), 200)
		c.want(c.do("POST", "/customers/"+custID+"/identities", map[string]string{"kind": "wechat", "value": "olivia_s88"}), 200)
		var tk struct {
			CustomerID string `json:"customer_id"`
		}
		first.json(t, &tk)
		c.want(c.do("POST", "/customers/"+tk.CustomerID+"/merge", map[string]string{"source_id": custID}), 200)
		file := c.want(c.do("GET", "/customers/"+tk.CustomerID+"/file?limit=5", nil), 200)
		if !strings.Contains(string(file.body), "SO-88001") {
			t.Errorf("service file lacks the order: %s", file.body)
		}
		c.want(c.do("GET", "/customers/"+tk.CustomerID+"/audit", nil), 200)
		c.want(c.do("GET", "/audit?entity=ticket", nil), 200)

		// --- Search (internal/search) ---
		// Chinese without spaces (连衣裙, percent-encoded), a ticket key, an
		// order number prefix; grouped results with marked snippets.
		var found struct {
			Tickets []struct {
				Key       string `json:"key"`
				MatchedBy string `json:"matched_by"`
			}
			Messages  []struct{ Snippet []struct{ Text string } }
			Customers []struct{ Name string }
		}
		bot.want(bot.do("GET", "/search?q=%E8%BF%9E%E8%A1%A3%E8%A3%99", nil), 200).json(t, &found)
		if len(found.Tickets) != 1 || found.Tickets[0].Key != key || len(found.Messages) == 0 {
			t.Errorf("search 连衣裙: %+v", found)
		}
		found.Tickets = nil
		c.want(c.do("GET", "/search?q=so-880&kinds=tickets,customers&limit=5&rank=true", nil), 200).json(t, &found)
		if len(found.Tickets) != 1 || found.Tickets[0].MatchedBy != "order_number" {
			t.Errorf("search by order number prefix: %+v", found)
		}
		c.want(c.do("GET", "/search?q="+key, nil), 200)
		c.want(c.do("GET", "/search?q=x&kinds=orders", nil), 422)
		// --- end of search ---

		// A token without the scope is refused; an agent's token cannot
		// read the global audit log.
		bot.want(bot.do("GET", "/audit", nil), 403)
		bot.want(bot.do("PATCH", "/customers/"+custID, map[string]any{"tier": "vip"}), 403)

		c.want(c.do("DELETE", "/tokens/"+created.Detail.ID, nil), 200)
		bot.want(bot.do("GET", "/tickets", nil), 401)
		c.want(c.do("POST", "/auth/logout", nil), 204)
		c.want(c.do("GET", "/me", nil), 401)

		exerciseSLA(t, app, c, admin.ID)
		exerciseEmail(t, app, c)
		exerciseCanned(t, c)
		exercisePortal(t, app, c)
		exerciseShop(t, app, c)
		exerciseAftersales(t, c)

		exerciseWorkflows(t, c)
		checkAllOperations(t, c)
	})
}

// checkAllOperations fails for every documented operation that no request
// in the test answered with success.
func checkAllOperations(t *testing.T, c *apiClient) {
	t.Helper()
	var missing []string
	for path, item := range c.doc.Paths.Map() {
		for method, o := range item.Operations() {
			if !c.seen[o.OperationID] {
				missing = append(missing, method+" "+path+" ("+o.OperationID+")")
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("operations never exercised with success:\n%s", strings.Join(missing, "\n"))
	}
}

// ---- Business calendars, SLA policies, clocks and notifications ----

// exerciseSLA walks the calendar and SLA routes as the admin: bad input is
// refused with field names and changes nothing, and a breached ticket
// notifies its assignee.
func exerciseSLA(t *testing.T, app *App, c *apiClient, adminID string) {
	c.want(c.do("POST", "/auth/login", map[string]string{"email": "boss@shop.cn", "password": "correct horse battery 2"}), 200)
	day := [][]string{{"08:30", "12:00"}, {"13:30", "17:30"}}
	nanbei := map[string]any{"name": "Nanbei Chao", "timezone": "Asia/Shanghai", "include": []string{"cn-statutory"},
		"weekly": map[string]any{"mon": day, "tue": day, "wed": day, "thu": day, "fri": day}}
	bad := c.want(c.do("POST", "/calendars", map[string]any{"name": "bad", "timezone": "Asia/Beijing",
		"weekly":    map[string]any{"mon": [][]string{{"09:00", "12:00"}, {"11:00", "13:00"}}, "tue": [][]string{{"18:00", "09:00"}}},
		"overrides": map[string]any{"2025-02-30": []any{}}}), 422)
	for _, f := range []string{"body.timezone", "body.weekly.mon[1]", "body.weekly.tue[0]", "body.overrides.2025-02-30"} {
		if !strings.Contains(string(bad.body), `"`+f+`"`) {
			t.Errorf("bad calendar: no error for %s in %s", f, bad.body)
		}
	}
	cal := c.want(c.do("POST", "/calendars", nanbei), 201)
	calID := cal.field(t, "id")
	c.want(c.do("GET", "/calendars", nil), 200)
	broken := map[string]any{"name": "Nanbei Chao", "timezone": "Asia/Shanghai", "weekly": map[string]any{"mon": [][]string{{"08:30", "12:00"}, {"11:30", "17:30"}}}}
	c.want(c.do("PUT", "/calendars/"+calID, broken, "If-Match", `"1"`), 422)
	if got := c.want(c.do("GET", "/calendars/"+calID, nil), 200); got.header.Get("ETag") != `"1"` || !strings.Contains(string(got.body), "cn-statutory") {
		t.Errorf("a rejected edit changed the calendar: %s %s", got.header.Get("ETag"), got.body)
	}
	nanbei["overrides"] = map[string]any{"2025-12-24": [][]string{{"08:30", "12:00"}}}
	c.want(c.do("PUT", "/calendars/"+calID, nanbei, "If-Match", `"1"`), 200)
	holidays, err := os.ReadFile("../../internal/calendar/testdata/holiday-cn-2025-autumn.json")
	if err != nil {
		t.Fatal(err)
	}
	c.want(c.do("PATCH", "/calendars/"+calID+"/overrides", map[string]any{"set": map[string]any{"2025-12-31": [][]string{{"08:30", "25:00"}}}}, "If-Match", `"2"`), 422)
	c.want(c.do("PATCH", "/calendars/"+calID+"/overrides", map[string]any{"set": map[string]any{"2025-12-31": [][]string{{"08:30", "12:00"}}},
		"remove": []string{"2025-12-24"}}, "If-Match", `"2"`), 200)
	c.want(c.do("POST", "/calendars/"+calID+"/import", map[string]string{"format": "holiday-cn", "data": string(holidays)}, "If-Match", `"3"`), 200)
	due := c.want(c.do("GET", "/calendars/"+calID+"/deadline?start=2025-09-26T17:25:00%2B08:00&minutes=30", nil), 200)
	if due.field(t, "due") != "2025-09-28T08:55:00+08:00" {
		t.Errorf("deadline %s", due.body)
	}
	draft := c.want(c.do("POST", "/calendars/what-if", map[string]any{"calendar": nanbei, "start": "2025-09-30T17:00:00+08:00", "minutes": 60,
		"from": "2025-09-26T17:25:00+08:00", "to": "2025-09-28T09:00:00+08:00"}), 200)
	if draft.field(t, "due") != "2025-10-09T09:00:00+08:00" || draft.field(t, "business_minutes") != "35" {
		t.Errorf("what-if: %s", draft.body)
	}
	if bad := c.want(c.do("POST", "/calendars/what-if", map[string]any{"calendar": map[string]any{"name": "x", "timezone": "Nowhere/City",
		"weekly": map[string]any{"mon": [][]string{{"09:00", "12:00"}}}}, "start": "2025-09-30T17:00:00+08:00", "minutes": 60}), 422); !strings.Contains(string(bad.body), "body.calendar.timezone") {
		t.Errorf("what-if with a bad calendar: %s", bad.body)
	}
	between := c.want(c.do("GET", "/calendars/"+calID+"/between?from=2025-09-26T17:25:00%2B08:00&to=2025-09-28T09:00:00%2B08:00", nil), 200)
	if between.field(t, "business_minutes") != "35" {
		t.Errorf("between %s", between.body)
	}

	always := c.want(c.do("POST", "/calendars", map[string]any{"name": "Always open", "timezone": "Asia/Shanghai", "weekly": map[string]any{
		"mon": [][]string{{"00:00", "24:00"}}, "tue": [][]string{{"00:00", "24:00"}}, "wed": [][]string{{"00:00", "24:00"}}, "thu": [][]string{{"00:00", "24:00"}},
		"fri": [][]string{{"00:00", "24:00"}}, "sat": [][]string{{"00:00", "24:00"}}, "sun": [][]string{{"00:00", "24:00"}}}}), 201)
	badPolicy := c.want(c.do("POST", "/sla/policies", map[string]any{"name": "x", "calendar_id": calID,
		"targets":        []map[string]any{{"kind": "first_response", "minutes": 10, "warn": map[string]any{"percent": 80, "before_minutes": 2}}},
		"pause_statuses": []string{"solved"}}), 422)
	for _, f := range []string{"body.targets[0].warn", "body.pause_statuses[0]"} {
		if !strings.Contains(string(badPolicy.body), `"`+f+`"`) {
			t.Errorf("bad policy: no error for %s in %s", f, badPolicy.body)
		}
	}
	pol := c.want(c.do("POST", "/sla/policies", map[string]any{"name": "After-sales", "calendar_id": always.field(t, "id"), "min_progress_updates": 3,
		"targets": []map[string]any{{"kind": "first_response", "minutes": 1, "unit": "calendar"}, {"kind": "solution", "minutes": 600}}}), 201)
	polID := pol.field(t, "id")
	c.want(c.do("GET", "/sla/policies", nil), 200)
	c.want(c.do("GET", "/sla/policies/"+polID, nil), 200)
	c.want(c.do("PUT", "/sla/policies/"+polID, map[string]any{"name": "After-sales", "calendar_id": always.field(t, "id"), "min_progress_updates": 3,
		"targets": []map[string]any{{"kind": "first_response", "minutes": 2, "unit": "calendar", "breach": []map[string]any{{"kind": "notify", "to": "assignee"}}},
			{"kind": "solution", "minutes": 600, "warn": map[string]any{"before_minutes": 30}}}}, "If-Match", `"1"`), 200)

	// A ticket that arrived ten minutes ago has missed its first response.
	ctx := kefu.WithActor(context.Background(), kefu.System)
	tk, err := app.Tickets.Create(ctx, ticket.NewTicket{Subject: "拉链坏了", Channel: "chat", AssigneeID: adminID,
		Customer: ticket.CustomerRef{Email: "zhao@example.cn"}, Message: ticket.NewMessage{Text: "拉链第一天就坏了", At: app.Now().Add(-10 * time.Minute)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.SLA.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	view := c.want(c.do("GET", "/tickets/"+tk.Key+"/sla", nil), 200)
	if !strings.Contains(string(view.body), `"state":"breached"`) {
		t.Errorf("ticket SLA after the sweep: %s", view.body)
	}
	if mine := c.want(c.do("GET", "/sla/due?assignee=me&limit=10", nil), 200); !strings.Contains(string(mine.body), tk.ID) {
		t.Errorf("the admin's due queue lacks their ticket: %s", mine.body)
	}
	rows := c.want(c.do("GET", "/sla/tickets?ids="+tk.ID+","+kefu.NewID(), nil), 200)
	if !strings.Contains(string(rows.body), `"target":"solution"`) {
		t.Errorf("list summaries: %s", rows.body)
	}
	c.want(c.do("POST", "/tickets/"+tk.ID+"/sla/agreements", map[string]any{"target": "solution", "next_contact_at": app.Now().Add(2 * time.Hour), "channel": "phone"}), 422)
	c.want(c.do("POST", "/tickets/"+tk.ID+"/sla/agreements", map[string]any{"target": "solution", "next_contact_at": app.Now().Add(2 * time.Hour),
		"channel": "phone", "customer_words": "可以，两小时内回电"}), 201)
	if file := c.want(c.do("GET", "/customers/"+tk.CustomerID+"/file", nil), 200); !strings.Contains(string(file.body), "两小时内回电") {
		t.Errorf("the customer's consent is not in their service file: %.800s", file.body)
	}
	c.want(c.do("PATCH", "/tickets/"+tk.ID, map[string]string{"status": "solved"}), 422)
	c.want(c.do("POST", "/tickets/"+tk.ID+"/sla/waiver", map[string]string{"reason": "客户电话确认已解决"}), 200)
	c.want(c.do("PATCH", "/tickets/"+tk.ID, map[string]string{"status": "solved"}), 200)

	list := c.want(c.do("GET", "/notifications?unread=true", nil), 200)
	var ns struct{ Notifications []struct{ ID string } }
	list.json(t, &ns)
	if len(ns.Notifications) != 1 {
		t.Fatalf("notifications for the assignee: %s", list.body)
	}
	c.want(c.do("POST", "/notifications/"+ns.Notifications[0].ID+"/read", nil), 200)
}
