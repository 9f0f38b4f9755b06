package web

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/chat"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// Live chat in the console: the chat queue (/chats) with its count and
// the agent's own chats in the sidebar, accepting a chat, and, on a chat
// ticket's page, the chat bar (state, visitor here or gone, typing,
// read) over the ticket's ordinary thread and composer. A chat is a
// ticket: replies, notes, transfer and solving are the ticket page's own.

func (s *Server) chatConsoleRoutes(r chi.Router) {
	r.Get("/chats", s.chatsPage)
	r.Get("/chats/sidebar", s.chatSidebar)
	r.Post("/chats/{key}/accept", s.chatAccept)
	r.Get("/t/{key}/chat", s.chatBarFragment)
	r.Post("/t/{key}/chat/end", s.chatEndByAgent)
	r.Post("/t/{key}/chat/read", s.chatReadByAgent)
}

type chatsData struct {
	Views []queueView
	Queue []chat.QueueItem
	Mine  []chat.QueueItem
	Dir   *directory
}

func (s *Server) chatsPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	d := chatsData{}
	var err error
	if d.Views, err = s.views(ctx); err == nil {
		if d.Queue, err = s.Chat.Queue(ctx, 200); err == nil {
			if d.Mine, err = s.Chat.Mine(ctx); err == nil {
				d.Dir, err = s.directory(ctx)
			}
		}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if isHTMX(r) {
		render(w, r, http.StatusOK, chatLists(d))
		return
	}
	render(w, r, http.StatusOK, chatsPage(d))
}

// chatSidebar is the sidebar's count of waiting chats and the agent's
// own chats with unread marks; consoles re-read it on chat notices.
func (s *Server) chatSidebar(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q, err := s.Chat.Queue(ctx, 100)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	mine, err := s.Chat.Mine(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	render(w, r, http.StatusOK, chatSide(len(q), mine))
}

func (s *Server) chatAccept(w http.ResponseWriter, r *http.Request) {
	key := chi.URLParam(r, "key")
	if _, err := s.Chat.Accept(r.Context(), key); err != nil {
		s.fail(w, r, err)
		return
	}
	redirect(w, r, "/t/"+key)
}

// chatBarData is the chat bar of a chat ticket's page.
type chatBarData struct {
	Key       string
	Conv      *chat.Conversation
	AgentName string
	Position  int
}

func (s *Server) chatBarFragment(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	d, err := s.chatBar(ctx, chi.URLParam(r, "key"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	render(w, r, http.StatusOK, chatBar(d))
}

func (s *Server) chatBar(ctx context.Context, key string) (chatBarData, error) {
	t, err := s.Tickets.Get(ctx, key)
	if err != nil {
		return chatBarData{}, err
	}
	d := chatBarData{Key: t.Key}
	if d.Conv, err = s.Chat.ConversationByTicket(ctx, t.ID); err != nil || d.Conv == nil {
		return d, err
	}
	if d.Conv.AgentID != "" {
		if st, err := s.Team.GetStaff(ctx, d.Conv.AgentID); err == nil {
			d.AgentName = st.Name
		}
	}
	if d.Conv.State == chat.Queued {
		pos, err := s.Chat.Positions(ctx)
		if err != nil {
			return d, err
		}
		d.Position = pos[d.Conv.ID].Position
	}
	return d, nil
}

func (s *Server) chatEndByAgent(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	t, err := s.Tickets.Get(ctx, chi.URLParam(r, "key"))
	if err == nil {
		_, err = s.Chat.EndByAgent(ctx, t.ID)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d, err := s.chatBar(ctx, t.Key)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	render(w, r, http.StatusOK, chatBar(d))
}

func (s *Server) chatReadByAgent(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	seq, err := strconv.ParseInt(r.PostFormValue("seq"), 10, 64)
	if err != nil {
		s.fail(w, r, kefu.Fieldf("seq", "must be an event number"))
		return
	}
	t, err := s.Tickets.Get(ctx, chi.URLParam(r, "key"))
	if err == nil {
		err = s.Chat.ReadByAgent(ctx, t.ID, seq)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// chatStream is the chat part of a chat ticket page's live stream: the
// conversation's events numbered by seq, so a console that reconnects
// with Last-Event-ID gets exactly what it missed. Messages come as the
// thread's own markup, appended; other changes ask the page to re-read.
type chatStream struct {
	s    *Server
	t    *ticket.Ticket
	conv *chat.Conversation
	l    *chat.Listener
	d    ticketData // names for rendering messages
	seen int64
}

func (s *Server) openChatStream(ctx context.Context, r *http.Request, t *ticket.Ticket) (*chatStream, error) {
	conv, err := s.Chat.ConversationByTicket(ctx, t.ID)
	if err != nil || conv == nil {
		return nil, err
	}
	dir, err := s.directory(ctx)
	if err != nil {
		return nil, err
	}
	cs := &chatStream{s: s, t: t, conv: conv, d: ticketData{T: t, Dir: dir, File: &ticket.ServiceFile{}}}
	if c, err := s.Customers.Get(ctx, t.CustomerID); err == nil {
		cs.d.File.Customer = c
	}
	cs.seen = conv.LastSeq // a new page has just read the thread
	if r.Header.Get("Last-Event-ID") != "" || r.URL.Query().Get("after") != "" {
		cs.seen = lastEventID(r)
	}
	cs.l = s.ChatHub.Listen(conv.ID, false)
	return cs, nil
}

func (cs *chatStream) close() { cs.s.ChatHub.Leave(cs.l) }

// catchUp writes the events after the last one shown.
func (cs *chatStream) catchUp(ctx context.Context, sse *sseWriter) error {
	for {
		evs, err := cs.s.Chat.EventsAfter(ctx, cs.conv.ID, cs.seen, false, replayLimit)
		if err != nil {
			return err
		}
		for _, e := range evs {
			id := strconv.FormatInt(e.Seq, 10)
			switch {
			case e.Kind == chat.KindMessage && e.Message != nil:
				var b bytes.Buffer
				if err := messageItem(cs.d, *e.Message).Render(ctx, &b); err != nil {
					return err
				}
				err = sse.event(id, "chat", strings.TrimSpace(b.String()))
			case e.Kind == chat.KindRead && e.Data.By == chat.ByVisitor:
				var b bytes.Buffer
				if err := chatSeen(e.At).Render(ctx, &b); err != nil {
					return err
				}
				err = sse.event(id, "chat-read", b.String())
			case e.Kind == chat.KindState || e.Kind == chat.KindChanged:
				err = sse.event(id, "chat-reload", id)
			default:
				// Read by agents: nothing to show, but the number moves on.
				err = sse.event(id, "chat-seq", id)
			}
			if err != nil {
				return err
			}
		}
		if len(evs) > 0 {
			cs.seen = evs[len(evs)-1].Seq
		}
		if len(evs) < replayLimit {
			return nil
		}
	}
}

// pending writes what the hub has for this page: missed events, the
// visitor typing, coming and going.
func (cs *chatStream) pending(ctx context.Context, sse *sseWriter) error {
	p := cs.l.Take()
	if p.Hint > cs.seen || p.Resync {
		if err := cs.catchUp(ctx, sse); err != nil {
			return err
		}
	}
	me := kefu.ActorFrom(ctx).ID
	for _, t := range p.Typing {
		if t.By == me {
			continue
		}
		who := "" // the customer
		if t.By != chat.ByVisitor {
			who = cs.d.Dir.staffName(t.By)
		}
		var b bytes.Buffer
		if err := chatTyping(t.On, who).Render(ctx, &b); err != nil {
			return err
		}
		if err := sse.event("", "chat-typing", b.String()); err != nil {
			return err
		}
	}
	if p.Visitor != "" {
		var b bytes.Buffer
		if err := chatVisitorHere(p.Visitor == "on").Render(ctx, &b); err != nil {
			return err
		}
		return sse.event("", "chat-visitor", b.String())
	}
	return nil
}

// ---- Admin › Live chat ----

func (s *Server) chatAdminRoutes(r chi.Router) {
	r.Get("/chat", s.adminChat)
	r.Post("/chat", s.adminSaveChat)
	r.Post("/chat/rotate", s.adminRotateChat)
}

// chatSettingsForm fills the form from the stored settings, and the
// snippet and identity secret shown beside it.
func (s *Server) chatSettingsForm(r *http.Request, p *adminPage, form bool) error {
	ctx := r.Context()
	st, err := s.Chat.SettingsForAdmin(ctx)
	if err != nil {
		return err
	}
	if form {
		p.Form = url.Values{"version": {itoa(st.Version)}, "hours": {st.Hours}, "calendar_id": {st.CalendarID},
			"allowed_origins": {strings.Join(st.AllowedOrigins, "\n")}}
		if st.Enabled {
			p.Form.Set("enabled", "on")
		}
	}
	p.Form.Set("identity_secret", st.IdentitySecret)
	p.ChatSnippet = `<script src="` + baseURL(r) + `/chat.js" async></script>`
	if s.Calendars != nil {
		p.Calendars, err = s.Calendars.List(ctx)
	}
	return err
}

func (s *Server) adminChat(w http.ResponseWriter, r *http.Request) {
	p, err := s.adminBase(r.Context(), "chat")
	if err == nil {
		p.Saved = savedNotice(r)
		err = s.chatSettingsForm(r, p, true)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.show(w, r, p, nil, nil)
}

func (s *Server) adminSaveChat(w http.ResponseWriter, r *http.Request) {
	p, err := s.adminBase(r.Context(), "chat")
	reload := func(_ context.Context, p *adminPage) error { return s.chatSettingsForm(r, p, false) }
	s.post(w, r, p, err, reload, func(ctx context.Context, f url.Values) (string, string, error) {
		version, _ := strconv.Atoi(f.Get("version"))
		in := chat.SettingsInput{Enabled: f.Get("enabled") == "on", Hours: f.Get("hours"), CalendarID: f.Get("calendar_id"),
			AllowedOrigins: strings.Fields(f.Get("allowed_origins"))}
		_, err := s.Chat.SaveSettings(ctx, version, in)
		if kefu.IsCode(err, kefu.Stale) {
			err = kefu.Errorf(kefu.Conflict, "%s", T(ctx, "chat.admin.stale"))
		}
		return "/admin/chat", T(ctx, "admin.chat"), err
	})
}

func (s *Server) adminRotateChat(w http.ResponseWriter, r *http.Request) {
	if _, err := s.Chat.RotateIdentitySecret(r.Context()); err != nil {
		s.fail(w, r, err)
		return
	}
	redirect(w, r, "/admin/chat")
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

// safeHTTP keeps only http and https links: a visitor's page address is
// what their browser said, and a javascript: link must not be clickable.
func safeHTTP(u string) string {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") {
		return "about:blank"
	}
	return p.String()
}

// shortURL is a page address without its scheme, cut to fit a line.
func shortURL(u string) string {
	u = strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")
	if r := []rune(u); len(r) > 60 {
		return string(r[:60]) + "…"
	}
	return u
}

// threadTrigger is when a ticket's thread is re-read. A chat's messages
// arrive appended by the stream, so its thread is re-read only for other
// changes, which the stream names (chat-reload).
func threadTrigger(ctx context.Context, t *ticket.Ticket) string {
	if t.Channel == "chat" && chatOn(ctx) {
		return "sse:chat-reload delay:100ms, ticket-changed from:body"
	}
	return "sse:ticket delay:100ms, ticket-changed from:body"
}
