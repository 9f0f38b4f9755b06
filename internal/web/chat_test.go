package web_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kefu-desk/kefu/internal/calendar"
	"github.com/kefu-desk/kefu/internal/chat"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/web"
)

// withChat adds live chat to the console, wired as cmd/kefu does.
func withChat(t *testing.T) func(*web.Deps) {
	return func(d *web.Deps) {
		svc := &chat.Service{DB: d.DB, Now: d.Now, Tickets: d.Tickets, Customers: d.Customers,
			Calendars: &calendar.Service{DB: d.DB, Now: d.Now}, Bus: d.Events}
		svc.Init()
		d.Tickets.Hooks = append(d.Tickets.Hooks, svc)
		d.Chat, d.ChatHub = svc, chat.NewHub(svc)
		t.Cleanup(d.ChatHub.Close)
	}
}

// visitor is the widget on a shop's page: no cookies, an Origin, a token.
type visitor struct {
	e      *env
	origin string
	token  string
}

func (v *visitor) call(method, path string, body any, headers ...string) (int, http.Header, map[string]any) {
	v.e.t.Helper()
	var r io.Reader
	ct := "application/json"
	switch b := body.(type) {
	case nil:
	case *multipart.Writer:
		panic("use upload")
	default:
		j, _ := json.Marshal(b)
		r = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, v.e.url+path, r)
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Origin", v.origin)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if v.token != "" {
		req.Header.Set("Authorization", "Bearer "+v.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		v.e.t.Fatal(err)
	}
	defer res.Body.Close()
	out := map[string]any{}
	raw, _ := io.ReadAll(res.Body)
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			v.e.t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, raw)
		}
	}
	return res.StatusCode, res.Header, out
}

// sseEvent is one event of a stream.
type sseEvent struct{ id, name, data string }

// stream opens an event stream and hands its events over a channel
// until ctx ends.
func stream(t *testing.T, ctx context.Context, req *http.Request) <-chan sseEvent {
	t.Helper()
	res, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		raw, _ := io.ReadAll(res.Body)
		t.Fatalf("stream %s: %d %s", req.URL.Path, res.StatusCode, raw)
	}
	out := make(chan sseEvent, 100)
	go func() {
		defer res.Body.Close()
		defer close(out)
		sc := bufio.NewScanner(res.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.name != "" {
					out <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.name = line[7:]
			case strings.HasPrefix(line, "data: "):
				if ev.data != "" {
					ev.data += "\n"
				}
				ev.data += line[6:]
			}
		}
	}()
	return out
}

// next waits for the next event named name (skipping others).
func next(t *testing.T, c <-chan sseEvent, name string) sseEvent {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-c:
			if !ok {
				t.Fatalf("the stream ended before a %q event", name)
			}
			if ev.name == name {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %q event within 10s", name)
		}
	}
}

func (v *visitor) streamReq(lastID string) *http.Request {
	req, _ := http.NewRequest("GET", v.e.url+"/chat/v1/stream", nil)
	req.Header.Set("Authorization", "Bearer "+v.token)
	req.Header.Set("Origin", v.origin)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	return req
}

func text(t *testing.T, ev sseEvent) string {
	t.Helper()
	var e struct {
		Seq     int64 `json:"seq"`
		Message struct {
			From, Text string
		}
	}
	if err := json.Unmarshal([]byte(ev.data), &e); err != nil {
		t.Fatalf("event %q: %v", ev.data, err)
	}
	return e.Message.From + ":" + e.Message.Text
}

// The widget end to end over HTTP: CORS, the session, the first message
// with pre-chat fields, problem+json refusals, a photo, the visitor's
// stream resuming after a drop with exactly the missed events, and the
// agent's side: accept, reply, and the chat page's own numbered stream.
func TestChatWidgetAndConsole(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db, withChat(t))
		agent := e.signin("li.na@example.com") // signing in makes the agent online
		v := &visitor{e: e, origin: "https://shop.example"}

		// A preflight from the shop's page.
		code, h, _ := v.call("OPTIONS", "/chat/v1/messages", nil, "Access-Control-Request-Method", "POST",
			"Access-Control-Request-Headers", "authorization,content-type")
		if code != 204 || h.Get("Access-Control-Allow-Origin") != "https://shop.example" || !strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") {
			t.Fatalf("preflight: %d %v", code, h)
		}
		code, _, cfg := v.call("GET", "/chat/v1/config?lang=zh-Hans", nil)
		if code != 200 || cfg["lang"] != "zh-CN" || cfg["available"] != true || cfg["strings"].(map[string]any)["send"] != "发送" {
			t.Fatalf("config: %d %v", code, cfg)
		}
		code, _, sess := v.call("POST", "/chat/v1/session", map[string]any{"lang": "zh-CN"})
		if code != 200 || sess["token"] == "" || sess["conversation"] != nil {
			t.Fatalf("session: %d %v", code, sess)
		}
		v.token = sess["token"].(string)

		// Without the pre-chat fields: problem+json naming each field.
		code, h, p := v.call("POST", "/chat/v1/messages", map[string]any{"text": "在吗"})
		if code != 422 || h.Get("Content-Type") != "application/problem+json" || !strings.Contains(jsonText(p["errors"]), "body.name") ||
			!strings.Contains(jsonText(p["errors"]), "body.email") {
			t.Fatalf("no pre-chat: %d %s %v", code, h.Get("Content-Type"), p)
		}
		code, _, sent := v.call("POST", "/chat/v1/messages", map[string]any{"text": "这条裙子有 S 码吗？", "page_url": "https://shop.example/dress",
			"prechat": map[string]any{"name": "王芳", "email": "wang.fang@example.cn", "order_number": "SO-77"}})
		if code != 201 || sent["seq"] != float64(1) || sent["conversation"].(map[string]any)["state"] != "queued" {
			t.Fatalf("first message: %d %v", code, sent)
		}
		key := sent["conversation"].(map[string]any)["ticket_key"].(string)

		ctx, cancel := context.WithCancel(context.Background())
		events := stream(t, ctx, v.streamReq(""))
		first := next(t, events, "chat")
		if first.id != "1" || text(t, first) != "visitor:这条裙子有 S 码吗？" {
			t.Fatalf("replayed %+v", first)
		}
		if ev := next(t, events, "chat"); ev.id != "2" || !strings.Contains(ev.data, `"state":"queued"`) {
			t.Fatalf("then %+v", ev)
		}
		if ev := next(t, events, "queue"); !strings.Contains(ev.data, `"position":1`) {
			t.Fatalf("queue position %+v", ev)
		}

		// The agent sees the chat in the queue and accepts it.
		want(t, agent.get("/chats"), 200, "王芳", "这条裙子有 S 码吗？", "/chats/"+key+"/accept")
		want(t, agent.get("/chats/sidebar"), 200, `data-chat-waiting="1"`)
		acc := agent.send("POST", "/chats/"+key+"/accept", nil)
		if acc.StatusCode != 204 || acc.Header.Get("HX-Location") != "/t/"+key {
			t.Fatalf("accept: %d %v", acc.StatusCode, acc.Header)
		}
		if ev := next(t, events, "chat"); !strings.Contains(ev.data, `"state":"active"`) || !strings.Contains(ev.data, "李娜") {
			t.Fatalf("accepted: %+v", ev)
		}
		want(t, agent.get("/t/"+key), 200, `data-chat-key="`+key+`"`, `sse-swap="chat"`)
		want(t, agent.get("/t/"+key+"/chat"), 200, "data-last-seq=\"3\"")

		// The console's stream of the chat page, opened as a browser does.
		req, _ := http.NewRequest("GET", e.url+"/events?ticket="+key, nil)
		u, _ := url.Parse(e.url)
		for _, c := range agent.c.Jar.Cookies(u) {
			req.AddCookie(c)
		}
		cctx, ccancel := context.WithCancel(context.Background())
		defer ccancel()
		console := stream(t, cctx, req)

		// The visitor's stream drops after event 3; meanwhile the agent
		// replies with a photo and the visitor writes again.
		cancel()
		for range events {
		}
		reply := agent.upload("/t/"+key+"/messages", map[string]string{"kind": "reply", "text": "有的，S 码有货。"}, "尺码.png", png)
		if reply.StatusCode != 200 {
			t.Fatalf("reply: %d %s", reply.StatusCode, reply.body)
		}
		if ev := next(t, console, "chat"); ev.id != "4" || !strings.Contains(ev.data, "有的，S 码有货。") || !strings.Contains(ev.data, `class="msg reply"`) {
			t.Fatalf("the console's stream: %+v", ev)
		}
		code, _, _ = v.call("POST", "/chat/v1/messages", map[string]any{"text": "好的，谢谢"})
		if code != 201 {
			t.Fatalf("second message: %d", code)
		}
		ev5 := next(t, console, "chat")
		if ev5.id != "5" || !strings.Contains(ev5.data, "好的，谢谢") {
			t.Fatalf("the console's stream: %+v", ev5)
		}

		// Back with Last-Event-ID 3: exactly 4 and 5.
		ctx2, cancel2 := context.WithCancel(context.Background())
		defer cancel2()
		events = stream(t, ctx2, v.streamReq("3"))
		ev := next(t, events, "chat")
		if ev.id != "4" || text(t, ev) != "agent:有的，S 码有货。" {
			t.Fatalf("resumed with %+v", ev)
		}
		var photo struct {
			Message struct {
				Attachments []struct{ URL, Filename string }
			}
		}
		json.Unmarshal([]byte(ev.data), &photo)
		if len(photo.Message.Attachments) != 1 || photo.Message.Attachments[0].Filename != "尺码.png" {
			t.Fatalf("attachments %s", ev.data)
		}
		if ev := next(t, events, "chat"); ev.id != "5" || text(t, ev) != "visitor:好的，谢谢" {
			t.Fatalf("then %+v", ev)
		}
		res, err := http.Get(photo.Message.Attachments[0].URL)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !bytes.Equal(got, png) {
			t.Fatalf("the photo by its URL: %d", res.StatusCode)
		}
		if res, _ := http.Get(strings.Replace(photo.Message.Attachments[0].URL, "sig=", "sig=x", 1)); res.StatusCode != 404 {
			t.Fatalf("a forged photo URL: %d", res.StatusCode)
		}

		// The console's own resume: from 3, it replays 4 and 5.
		req2, _ := http.NewRequest("GET", e.url+"/events?ticket="+key, nil)
		req2.Header.Set("Last-Event-ID", "3")
		for _, c := range agent.c.Jar.Cookies(u) {
			req2.AddCookie(c)
		}
		again := stream(t, cctx, req2)
		if a, b := next(t, again, "chat"), next(t, again, "chat"); a.id != "4" || b.id != "5" {
			t.Fatalf("the console resumed with %s, %s", a.id, b.id)
		}

		// Typing both ways.
		if code, _, _ := v.call("POST", "/chat/v1/typing", map[string]any{"typing": true}); code != 204 {
			t.Fatalf("typing: %d", code)
		}
		if ev := next(t, console, "chat-typing"); !strings.Contains(ev.data, "The customer is typing") && !strings.Contains(ev.data, "客户正在输入") {
			t.Fatalf("typing on the console: %+v", ev)
		}
		agent.send("POST", "/t/"+key+"/activity", nil)
		if ev := next(t, events, "typing"); !strings.Contains(ev.data, `"typing":true`) || !strings.Contains(ev.data, "李娜") {
			t.Fatalf("typing in the widget: %+v", ev)
		}
		// Read both ways.
		if code, _, _ := v.call("POST", "/chat/v1/read", map[string]any{"seq": 5}); code != 204 {
			t.Fatalf("read: %d", code)
		}
		next(t, console, "chat-read")
		if p := agent.send("POST", "/t/"+key+"/chat/read", url.Values{"seq": {"6"}}); p.StatusCode != 204 {
			t.Fatalf("agent read: %d %s", p.StatusCode, p.body)
		}
		if ev := next(t, events, "chat"); !strings.Contains(ev.data, `"kind":"read"`) {
			t.Fatalf("read receipt: %+v", ev)
		}
	})
}

// Refusals come as problem+json: an origin the shop did not allow, a bad
// token, a visitor sending too fast.
func TestChatWidgetRefusals(t *testing.T) {
	e := newEnv(t, databasetest.Open(t, "sqlite"), withChat(t))
	// The script at its fixed address, revalidated by its hash.
	res, err := http.Get(e.url + "/chat.js")
	if err != nil {
		t.Fatal(err)
	}
	js, _ := io.ReadAll(res.Body)
	res.Body.Close()
	etag := res.Header.Get("ETag")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") || etag == "" ||
		!bytes.Contains(js, []byte("attachShadow")) {
		t.Fatalf("/chat.js: %d %v", res.StatusCode, res.Header)
	}
	req, _ := http.NewRequest("GET", e.url+"/chat.js", nil)
	req.Header.Set("If-None-Match", etag)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusNotModified {
		t.Fatalf("revalidation: %v %v", res, err)
	}
	admin := e.signin("admin@example.com")
	p := admin.post("/admin/chat", url.Values{"version": {"1"}, "enabled": {"on"}, "hours": {"always"}, "allowed_origins": {"https://shop.example\nftp://nope"}})
	want(t, p, 422, "must be an origin")
	p = admin.post("/admin/chat", url.Values{"version": {"1"}, "enabled": {"on"}, "hours": {"always"}, "allowed_origins": {"https://shop.example"}})
	want(t, p, 200, "https://shop.example", `&lt;script src=&#34;`)
	other := &visitor{e: e, origin: "https://elsewhere.example"}
	code, h, prob := other.call("GET", "/chat/v1/config", nil)
	if code != 403 || h.Get("Content-Type") != "application/problem+json" || prob["code"] != "forbidden" {
		t.Fatalf("another site: %d %v", code, prob)
	}
	v := &visitor{e: e, origin: "https://shop.example", token: "v1.forged.token"}
	if code, _, prob := v.call("POST", "/chat/v1/messages", map[string]any{"text": "hi"}); code != 401 || prob["code"] != "unauthorized" {
		t.Fatalf("forged token: %d %v", code, prob)
	}
	v.token = ""
	_, _, sess := v.call("POST", "/chat/v1/session", nil)
	v.token = sess["token"].(string)
	e.signin("li.na@example.com")
	v.call("POST", "/chat/v1/messages", map[string]any{"text": "1", "prechat": map[string]any{"name": "A", "phone": "+86 13800138000"}})
	var last int
	var hdr http.Header
	for i := 0; i < 20 && last != 429; i++ {
		last, hdr, prob = v.call("POST", "/chat/v1/messages", map[string]any{"text": "again"})
	}
	if last != 429 || hdr.Get("Retry-After") == "" || prob["code"] != "rate_limited" {
		t.Fatalf("flood: %d %v", last, prob)
	}
	// Turned off, the widget is told so and nothing else answers.
	want(t, admin.post("/admin/chat", url.Values{"hours": {"always"}}), 200)
	if code, _, cfg := v.call("GET", "/chat/v1/config", nil); code != 200 || cfg["enabled"] != false || cfg["available"] != false {
		t.Fatalf("config when off: %d %v", code, cfg)
	}
	if code, _, prob := v.call("POST", "/chat/v1/messages", map[string]any{"text": "hello?"}); code != 503 || prob["code"] != "unavailable" {
		t.Fatalf("a message when off: %d %v", code, prob)
	}
	want(t, admin.post("/admin/chat", url.Values{"enabled": {"on"}, "hours": {"always"}, "allowed_origins": {"https://shop.example"}}), 200)
	// Rotating the identity secret is an admin's button.
	before := admin.get("/admin/chat").body
	want(t, admin.send("POST", "/admin/chat/rotate", nil), 204)
	if after := admin.get("/admin/chat").body; after == before {
		t.Fatal("the identity secret did not change")
	}
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// upload posts a multipart form with one file, as the composer does.
func (b *browser) upload(path string, fields map[string]string, name string, content []byte) page {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for k, v := range fields {
		w.WriteField(k, v)
	}
	f, _ := w.CreateFormFile("files", name)
	f.Write(content)
	w.Close()
	req, _ := http.NewRequest("POST", b.e.url+path, &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("HX-Request", "true")
	return b.do(req)
}

// A 1×1 PNG.
var png = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
