package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/api"
	"github.com/kefu-desk/kefu/internal/chat"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// The chat widget: /chat.js, the one script a shop puts on its pages,
// and the JSON endpoints under /chat/v1 it calls from the shop's origin
// (CORS, no cookies: the visitor is the bearer of a signed token).
// Messages go up as POSTs; everything comes down one Server-Sent Events
// stream per visitor, numbered with the conversation's stored event
// numbers, so a stream that drops resumes with Last-Event-ID on any
// instance and misses nothing. Errors are problem+json (internal/api).

func (s *Server) chatWidgetRoutes(r chi.Router) {
	r.Get("/chat.js", serveFixed("chat/widget.js", 5*time.Minute))
	r.Route("/chat/v1", func(r chi.Router) {
		r.Use(s.chatCORS)
		r.Get("/config", s.chatConfig)
		r.Post("/session", s.chatSession)
		r.Get("/attachments/{id}", s.chatAttachment)
		r.Group(func(r chi.Router) {
			r.Use(s.chatVisitor)
			r.Post("/messages", s.chatSend)
			r.Post("/typing", s.chatTyping)
			r.Post("/read", s.chatRead)
			r.Post("/transcript", s.chatTranscript)
			r.Post("/end", s.chatEnd)
			r.Get("/stream", s.chatStream)
		})
	})
}

func chatFail(w http.ResponseWriter, r *http.Request, err error) {
	api.WriteError(w, r, err)
}

// chatCORS lets the shop's pages call the widget endpoints: any origin,
// or only those the chat settings allow. Each request also counts
// against its address's rate.
func (s *Server) chatCORS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if origin := r.Header.Get("Origin"); origin != "" {
			st, err := s.Chat.Settings(ctx)
			if err != nil {
				chatFail(w, r, err)
				return
			}
			if !st.AllowsOrigin(origin) {
				chatFail(w, r, kefu.Errorf(kefu.Forbidden, "pages on %s may not use this chat; an admin can allow the site under Admin › Live chat", origin))
				return
			}
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			h.Set("Access-Control-Expose-Headers", "Retry-After")
			if r.Method == http.MethodOptions {
				h.Set("Access-Control-Allow-Methods", "GET, POST")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Last-Event-ID")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		if err := s.Chat.CheckIP(r.Header.Get("X-Kefu-Remote-Addr")); err != nil {
			w.Header().Set("Retry-After", "1")
			chatFail(w, r, err)
			return
		}
		st, err := s.Chat.Settings(ctx)
		if err != nil {
			chatFail(w, r, err)
			return
		}
		if !st.Enabled && r.URL.Path != "/chat/v1/config" {
			chatFail(w, r, kefu.Errorf(kefu.Unavailable, "live chat is turned off"))
			return
		}
		// The widget's language: what the page asked for, else the
		// browser's.
		if l := r.URL.Query().Get("lang"); l != "" {
			ctx = withLocalizer(ctx, widgetLang(l))
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// widgetLang maps a page's or browser's language to one Kefu speaks.
func widgetLang(l string) string {
	l = strings.ToLower(l)
	if strings.HasPrefix(l, "zh") && !strings.Contains(l, "hant") && !strings.HasSuffix(l, "-tw") && !strings.HasSuffix(l, "-hk") {
		return "zh-CN"
	}
	return "en"
}

type visitorKey struct{}

// chatVisitor authenticates the visitor by the bearer token.
func (s *Server) chatVisitor(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			chatFail(w, r, kefu.Errorf(kefu.Unauthorized, "send the visitor token as Authorization: Bearer <token>"))
			return
		}
		v, err := s.Chat.Authenticate(r.Context(), strings.TrimSpace(token))
		if err != nil {
			chatFail(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), visitorKey{}, v)))
	})
}

func visitorOf(r *http.Request) *chat.Visitor {
	v, _ := r.Context().Value(visitorKey{}).(*chat.Visitor)
	return v
}

// widgetStrings are the messages the widget shows, sent with its
// configuration so the script carries no translations.
var widgetStrings = []string{"title", "open", "close", "greeting", "prechat_lead", "name", "email", "phone", "contact_hint",
	"order", "message", "placeholder", "send", "start", "attach", "queued", "wait", "wait_soon", "active", "requeued",
	"ended", "offline_title", "offline_back", "offline_nobody", "offline_lead", "offline_sent", "typing", "agent", "you",
	"read", "transcript", "transcript_sent", "end", "switch", "reconnecting", "disabled", "err_generic", "err_rate",
	"err_blocked", "err_file", "err_contact", "err_required", "remove"}

type widgetConfig struct {
	Lang         string            `json:"lang"`
	Enabled      bool              `json:"enabled"`
	Available    bool              `json:"available"`
	Open         bool              `json:"open"`
	AgentsOnline int               `json:"agents_online"`
	BackAt       *time.Time        `json:"back_at,omitempty"`
	Strings      map[string]string `json:"strings"`
	Limits       widgetLimits      `json:"limits"`
}

type widgetLimits struct {
	MessageBytes int      `json:"message_bytes"`
	FileBytes    int64    `json:"file_bytes"`
	Files        int      `json:"files"`
	FileTypes    []string `json:"file_types"`
}

func (s *Server) chatConfig(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	a, err := s.Chat.Availability(ctx)
	if err != nil {
		chatFail(w, r, err)
		return
	}
	l := s.Chat.Limits
	if l.MessageBytes == 0 {
		l = chat.DefaultLimits
	}
	c := widgetConfig{Lang: lang(ctx), Enabled: a.Enabled, Available: a.Available(), Open: a.Open, AgentsOnline: a.AgentsOnline,
		BackAt: a.BackAt, Strings: map[string]string{},
		Limits: widgetLimits{MessageBytes: l.MessageBytes, FileBytes: l.FileBytes, Files: l.Files, FileTypes: l.FileTypes}}
	for _, id := range widgetStrings {
		c.Strings[id] = T(ctx, "widget."+id)
	}
	// Availability moves with presence: a short cache spares the server
	// a burst of page views without showing a stale "online" for long.
	w.Header().Set("Cache-Control", "private, max-age=5")
	writeJSON(w, http.StatusOK, c)
}

// readJSON decodes a small JSON body; an empty body is an empty object.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		return kefu.Errorf(kefu.TooLarge, "the request body is larger than 64 KB")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return kefu.Fieldf("body", "is not valid JSON: %v", err)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if w.Header().Get("Cache-Control") == "" {
		w.Header().Set("Cache-Control", "no-store")
	}
	w.WriteHeader(code)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		slog.Debug("web: write json", "err", err)
	}
}

// widgetVisitor is what the widget may know of its visitor.
type widgetVisitor struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Phone string `json:"phone"`
}

type widgetConversation struct {
	State          chat.State `json:"state"`
	TicketKey      string     `json:"ticket_key"`
	LastSeq        int64      `json:"last_seq"`
	AgentName      string     `json:"agent_name,omitempty"`
	VisitorReadSeq int64      `json:"visitor_read_seq"`
	AgentReadSeq   int64      `json:"agent_read_seq"`
}

type widgetSession struct {
	Token        string              `json:"token"`
	Visitor      widgetVisitor       `json:"visitor"`
	Conversation *widgetConversation `json:"conversation"`
	Events       []widgetEvent       `json:"events"`
}

// widgetEvent is a stored chat event as the visitor sees it.
type widgetEvent struct {
	Seq       int64          `json:"seq"`
	Kind      string         `json:"kind"`
	At        time.Time      `json:"at"`
	Message   *widgetMessage `json:"message,omitempty"`
	State     chat.State     `json:"state,omitempty"`
	AgentName string         `json:"agent_name,omitempty"`
	Read      int64          `json:"read,omitempty"`
}

type widgetMessage struct {
	ID          string             `json:"id"`
	From        string             `json:"from"` // visitor or agent
	Name        string             `json:"name,omitempty"`
	Text        string             `json:"text"`
	Attachments []widgetAttachment `json:"attachments"`
}

type widgetAttachment struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	URL         string `json:"url"`
}

// widgetEvents shapes events for the visitor; attachment URLs carry a
// signature instead of the token, as an <img> sends no header.
func (s *Server) widgetEvents(ctx context.Context, base string, v *chat.Visitor, evs []chat.Event) ([]widgetEvent, error) {
	out := make([]widgetEvent, 0, len(evs))
	for _, e := range evs {
		we := widgetEvent{Seq: e.Seq, Kind: e.Kind, At: e.At, State: e.Data.State, AgentName: e.Data.AgentName, Read: e.Data.Read}
		if m := e.Message; m != nil {
			wm := &widgetMessage{ID: m.ID, From: "agent", Name: e.Author, Text: m.Text, Attachments: []widgetAttachment{}}
			if m.Kind == ticket.FromCustomer {
				wm.From, wm.Name = "visitor", ""
			}
			for _, a := range m.Attachments {
				sig, err := s.Chat.AttachmentSig(ctx, v.ID, a.ID)
				if err != nil {
					return nil, err
				}
				u := base + "/chat/v1/attachments/" + a.ID + "?" + url.Values{"v": {v.ID}, "sig": {sig}}.Encode()
				wm.Attachments = append(wm.Attachments, widgetAttachment{Filename: a.Filename, ContentType: a.ContentType, Size: a.Size, URL: u})
			}
			we.Message = wm
		} else if e.Kind == chat.KindMessage {
			continue // not visible to this reader
		}
		out = append(out, we)
	}
	return out, nil
}

// baseURL is how the visitor's browser reaches Kefu.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Server) chatSession(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var in struct {
		Token   string        `json:"token"`
		Shopper *chat.Shopper `json:"shopper"`
		Lang    string        `json:"lang"`
	}
	if err := readJSON(w, r, &in); err != nil {
		chatFail(w, r, err)
		return
	}
	l := lang(ctx)
	if in.Lang != "" {
		l = widgetLang(in.Lang)
	}
	sess, err := s.Chat.Session(ctx, chat.SessionInput{Token: in.Token, Shopper: in.Shopper, Language: l, IP: r.Header.Get("X-Kefu-Remote-Addr")})
	if err != nil {
		chatFail(w, r, err)
		return
	}
	out := widgetSession{Token: sess.Token, Visitor: widgetVisitor{Name: sess.Visitor.Name, Email: sess.Visitor.Email, Phone: sess.Visitor.Phone},
		Events: []widgetEvent{}}
	if c := sess.Conversation; c != nil {
		out.Conversation = &widgetConversation{State: c.State, TicketKey: c.TicketKey, LastSeq: c.LastSeq, AgentName: sess.AgentName,
			VisitorReadSeq: c.VisitorReadSeq, AgentReadSeq: c.AgentReadSeq}
		if out.Events, err = s.widgetEvents(ctx, baseURL(r), sess.Visitor, sess.Events); err != nil {
			chatFail(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// chatSend takes a message as JSON, or as multipart/form-data when it
// carries files.
func (s *Server) chatSend(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v := visitorOf(r)
	var in struct {
		Text    string        `json:"text"`
		Prechat *chat.Prechat `json:"prechat"`
		PageURL string        `json:"page_url"`
	}
	var msg chat.Message
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "multipart/form-data" {
		l := s.Chat.Limits
		if l.MessageBytes == 0 {
			l = chat.DefaultLimits
		}
		r.Body = http.MaxBytesReader(w, r.Body, int64(l.Files+1)*l.FileBytes+1<<20)
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				chatFail(w, r, kefu.Errorf(kefu.TooLarge, "the message is larger than %d files of %d MB", l.Files, l.FileBytes>>20))
				return
			}
			chatFail(w, r, kefu.Fieldf("body", "is not a readable multipart form: %v", err))
			return
		}
		defer r.MultipartForm.RemoveAll()
		in.Text, in.PageURL = r.FormValue("text"), r.FormValue("page_url")
		if p := r.FormValue("prechat"); p != "" {
			if err := json.Unmarshal([]byte(p), &in.Prechat); err != nil {
				chatFail(w, r, kefu.Fieldf("prechat", "is not valid JSON"))
				return
			}
		}
		for _, fh := range r.MultipartForm.File["files"] {
			f, err := fh.Open()
			if err != nil {
				chatFail(w, r, err)
				return
			}
			defer f.Close()
			msg.Files = append(msg.Files, chat.Upload{Filename: fh.Filename, Size: fh.Size, Content: f})
		}
	} else if err := readJSON(w, r, &in); err != nil {
		chatFail(w, r, err)
		return
	}
	msg.Text, msg.Prechat, msg.PageURL = in.Text, in.Prechat, in.PageURL
	sent, err := s.Chat.Send(ctx, v, msg)
	if err != nil {
		if kefu.IsCode(err, kefu.RateLimited) {
			w.Header().Set("Retry-After", "1")
		}
		chatFail(w, r, err)
		return
	}
	c := sent.Conversation
	writeJSON(w, http.StatusCreated, map[string]any{"seq": sent.Seq, "conversation": widgetConversation{State: c.State, TicketKey: c.TicketKey,
		LastSeq: c.LastSeq, VisitorReadSeq: c.VisitorReadSeq, AgentReadSeq: c.AgentReadSeq}})
}

func (s *Server) chatTyping(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Typing bool `json:"typing"`
	}
	if err := readJSON(w, r, &in); err != nil {
		chatFail(w, r, err)
		return
	}
	if err := s.Chat.Typing(r.Context(), visitorOf(r), in.Typing); err != nil {
		chatFail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) chatRead(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Seq int64 `json:"seq"`
	}
	if err := readJSON(w, r, &in); err != nil {
		chatFail(w, r, err)
		return
	}
	if err := s.Chat.ReadByVisitor(r.Context(), visitorOf(r), in.Seq); err != nil {
		chatFail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) chatTranscript(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Email string `json:"email"`
	}
	if err := readJSON(w, r, &in); err != nil {
		chatFail(w, r, err)
		return
	}
	if err := s.Chat.Transcript(r.Context(), visitorOf(r), in.Email, lang(r.Context())); err != nil {
		chatFail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (s *Server) chatEnd(w http.ResponseWriter, r *http.Request) {
	if _, err := s.Chat.EndByVisitor(r.Context(), visitorOf(r)); err != nil {
		chatFail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) chatAttachment(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	a, f, err := s.Chat.OpenAttachment(r.Context(), q.Get("v"), chi.URLParam(r, "id"), q.Get("sig"))
	if err != nil {
		chatFail(w, r, err)
		return
	}
	defer f.Close()
	serveAttachment(w, r, a, f)
}

// lastEventID is where a stream resumes: the Last-Event-ID header a
// reconnecting EventSource (or the widget) sends, else ?after=.
func lastEventID(r *http.Request) int64 {
	v := r.Header.Get("Last-Event-ID")
	if v == "" {
		v = r.URL.Query().Get("after")
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// replayLimit bounds one read of missed events; a stream further behind
// reads again at once.
const replayLimit = 200

// chatStream is the visitor's live stream: their conversation's public
// events numbered by seq (replayed from the database after Last-Event-ID),
// the agent typing, and their place in the queue.
func (s *Server) chatStream(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v := visitorOf(r)
	conv, err := s.Chat.Conversation(ctx, v)
	if err != nil {
		chatFail(w, r, err)
		return
	}
	if conv == nil {
		chatFail(w, r, kefu.Errorf(kefu.NotFound, "there is no chat yet: send a message first"))
		return
	}
	l := s.ChatHub.Listen(conv.ID, true)
	defer s.ChatHub.Leave(l)
	sse, ok := startSSE(w, r, s.streams)
	if !ok {
		return
	}
	s.Chat.VisitorPresence(ctx, conv, true)
	defer s.Chat.VisitorPresence(context.WithoutCancel(ctx), conv, false)

	sys := kefu.WithActor(ctx, kefu.System)
	base := baseURL(r)
	seen := lastEventID(r) // the newest number read from the database
	catchUp := func() error {
		for {
			evs, err := s.Chat.EventsAfter(sys, conv.ID, seen, true, replayLimit)
			if err != nil {
				return err
			}
			wes, err := s.widgetEvents(ctx, base, v, evs)
			if err != nil {
				return err
			}
			for _, e := range wes {
				if err := sse.event(strconv.FormatInt(e.Seq, 10), "chat", e); err != nil {
					return err
				}
			}
			if len(evs) > 0 {
				seen = evs[len(evs)-1].Seq
			}
			if len(evs) < replayLimit {
				return sse.flush()
			}
		}
	}
	if err := catchUp(); err != nil {
		return
	}
	names := map[string]string{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.streams.done:
			return
		case <-l.Wake():
		}
		p := l.Take()
		if p.Hint > seen || p.Resync {
			if err := catchUp(); err != nil {
				return
			}
			// Events this reader may not see still count as read.
			seen = max(seen, p.Hint)
		}
		for _, t := range p.Typing {
			if t.By == chat.ByVisitor {
				continue
			}
			if _, ok := names[t.By]; !ok {
				if st, err := s.Team.GetStaff(sys, t.By); err == nil {
					names[t.By] = st.Name
				}
			}
			if err := sse.event("", "typing", map[string]any{"typing": t.On, "name": names[t.By]}); err != nil {
				return
			}
		}
		if q := p.Queue; q != nil {
			out := map[string]any{"position": q.Position}
			if q.Known {
				out["wait_minutes"] = int((q.Wait + time.Minute - 1) / time.Minute)
			}
			if err := sse.event("", "queue", out); err != nil {
				return
			}
		}
		if p.Ping {
			if err := sse.comment("ping"); err != nil {
				return
			}
		}
		if err := sse.flush(); err != nil {
			return
		}
	}
}

// sseWriter writes one Server-Sent Events stream.
type sseWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

// startSSE answers r with an event stream and registers it to end on
// shutdown.
func startSSE(w http.ResponseWriter, r *http.Request, st *streams) (*sseWriter, bool) {
	st.watch(r)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	sse := &sseWriter{w: w, rc: http.NewResponseController(w)}
	// A dropped stream comes back after a second.
	if _, err := fmt.Fprint(w, "retry: 1000\n\n"); err != nil {
		return nil, false
	}
	return sse, sse.flush() == nil
}

// event writes one event; data is JSON-encoded unless it is a string,
// which is written line by line. An empty id leaves the client's last
// event id as it was.
func (s *sseWriter) event(id, name string, data any) error {
	var b bytes.Buffer
	if id != "" {
		fmt.Fprintf(&b, "id: %s\n", id)
	}
	fmt.Fprintf(&b, "event: %s\n", name)
	text, ok := data.(string)
	if !ok {
		j, err := json.Marshal(data)
		if err != nil {
			return err
		}
		text = string(j)
	}
	for _, line := range strings.Split(text, "\n") {
		fmt.Fprintf(&b, "data: %s\n", line)
	}
	b.WriteByte('\n')
	_, err := s.w.Write(b.Bytes())
	return err
}

func (s *sseWriter) comment(text string) error {
	_, err := fmt.Fprintf(s.w, ": %s\n\n", text)
	return err
}

func (s *sseWriter) flush() error { return s.rc.Flush() }
