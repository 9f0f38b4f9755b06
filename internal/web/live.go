package web

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/chat"
	"github.com/kefu-desk/kefu/internal/events"
)

// Live updates: each console page holds one Server-Sent Events stream
// (/events). It forwards a line per relevant event; htmx elements
// re-fetch their fragment on the event names they listen for:
//
//	tickets   any ticket was created or changed (queue lists, counts)
//	ticket    the ticket this page shows changed (thread, properties)
//	viewers   someone started or stopped viewing or replying on it
//	presence  a colleague went online, away or offline
//
//	chats     a chat was queued, accepted, or a visitor wrote (sidebar, alerts)
//
// Events carry ids only; every fragment is re-read with the viewer's
// own permissions. A chat ticket's page also gets its chat (chatStream).
const (
	heartbeat   = 20 * time.Second // keeps proxies from closing the stream; renews viewing
	viewerTTL   = 50 * time.Second // a viewer not renewed within this is gone
	replyingTTL = 15 * time.Second // "replying" lapses to "viewing" without typing
)

// Viewer modes.
const (
	Viewing  = "viewing"
	Replying = "replying"
)

type viewer struct {
	StaffID string
	Mode    string
	until   time.Time
	typing  time.Time
}

// viewers knows who has which ticket open, on every instance: each
// console announces itself through the event bus, and every instance
// keeps the same table from what it hears. It observes the bus (apply),
// so the table holds an event before any console hears of it and asks.
type viewers struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]map[string]viewer // ticket id → staff id → viewer
}

func newViewers(now func() time.Time) *viewers {
	return &viewers{now: now, m: map[string]map[string]viewer{}}
}

func (v *viewers) apply(e events.Event) {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.now()
	byStaff := v.m[e.TicketID]
	switch e.Kind {
	case "leave":
		delete(byStaff, e.By)
		if len(byStaff) == 0 {
			delete(v.m, e.TicketID)
		}
		return
	case "view", "sent":
	default:
		return
	}
	if byStaff == nil {
		byStaff = map[string]viewer{}
		v.m[e.TicketID] = byStaff
	}
	cur := byStaff[e.By]
	cur.StaffID, cur.until = e.By, now.Add(viewerTTL)
	switch {
	case e.Kind == "sent":
		cur.typing = time.Time{} // the reply went out: no longer replying
	case e.Detail == Replying:
		cur.typing = now
	}
	byStaff[e.By] = cur
}

// of lists the current viewers of a ticket other than except, replying
// ones first.
func (v *viewers) of(ticketID, except string) []viewer {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.now()
	var out []viewer
	for id, vw := range v.m[ticketID] {
		if now.After(vw.until) {
			delete(v.m[ticketID], id)
			continue
		}
		if id == except {
			continue
		}
		vw.Mode = Viewing
		if now.Sub(vw.typing) < replyingTTL {
			vw.Mode = Replying
		}
		out = append(out, vw)
	}
	slices.SortFunc(out, func(a, b viewer) int {
		if a.Mode != b.Mode {
			if a.Mode == Replying {
				return -1
			}
			return 1
		}
		if a.StaffID < b.StaffID {
			return -1
		}
		return 1
	})
	return out
}

func (v *viewers) stopReplying(ctx context.Context, bus *events.Bus, ticketID, staffID string) {
	_ = bus.Publish(ctx, events.Event{Topic: events.Viewers, TicketID: ticketID, Kind: "sent", By: staffID, Detail: Viewing})
}

// activity is the composer telling that its author is typing.
func (s *Server) activity(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	t, err := s.Tickets.Get(ctx, chi.URLParam(r, "key"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.Events.Publish(ctx, events.Event{Topic: events.Viewers, TicketID: t.ID, Kind: "view", By: kefu.ActorFrom(ctx).ID, Detail: Replying}); err != nil {
		s.fail(w, r, err)
		return
	}
	if s.Chat != nil && t.Channel == "chat" {
		// The visitor sees "… is typing".
		if err := s.Chat.AgentTyping(ctx, t.ID, true); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) viewersFragment(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	t, err := s.Tickets.Get(ctx, chi.URLParam(r, "key"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	dir, err := s.directory(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	render(w, r, http.StatusOK, viewersBox(t.Key, s.viewers.of(t.ID, kefu.ActorFrom(ctx).ID), dir))
}

// streams ends every open stream when the server shuts down, so a
// graceful shutdown does not wait for consoles that never hang up.
type streams struct {
	mu         sync.Mutex
	registered map[*http.Server]bool
	done       chan struct{}
	once       sync.Once
}

func newStreams() *streams {
	return &streams{registered: map[*http.Server]bool{}, done: make(chan struct{})}
}

// watch registers the shutdown hook on the server serving r, once.
func (st *streams) watch(r *http.Request) {
	srv, _ := r.Context().Value(http.ServerContextKey).(*http.Server)
	if srv == nil {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.registered[srv] {
		st.registered[srv] = true
		srv.RegisterOnShutdown(func() { st.once.Do(func() { close(st.done) }) })
	}
}

// stream is the console's live connection. On a chat ticket's page it
// also carries the chat (chatStream): those events are numbered with
// the conversation's stored numbers and are the only ones with an id, so
// Last-Event-ID is always a chat number and a reconnecting page resumes
// exactly where it was. The other events are notices to re-read, and a
// reconnecting page re-reads anyway.
func (s *Server) stream(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	me := kefu.ActorFrom(ctx).ID
	var ticketID string
	var cs *chatStream
	if key := r.URL.Query().Get("ticket"); key != "" {
		t, err := s.Tickets.Get(ctx, key)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		ticketID = t.ID
		if s.Chat != nil && t.Channel == "chat" {
			if cs, err = s.openChatStream(ctx, r, t); err != nil {
				s.fail(w, r, err)
				return
			}
		}
	}
	topics := []string{events.Tickets, events.Viewers, events.Staff}
	if s.Chat != nil {
		topics = append(topics, events.Chat)
	}
	c, unsubscribe := s.Events.Subscribe(topics...)
	defer unsubscribe()
	var chatWake <-chan struct{}
	if cs != nil {
		defer cs.close()
		chatWake = cs.l.Wake()
	}
	// A dropped stream reconnects after a second (the browser's
	// EventSource does it; htmx's extension backs off further).
	sse, ok := startSSE(w, r, s.streams)
	if !ok {
		return
	}
	announce := func(kind string) {
		if ticketID == "" {
			return
		}
		// The request context may be gone when leaving; the notice must
		// still go out.
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := s.Events.Publish(pctx, events.Event{Topic: events.Viewers, TicketID: ticketID, Kind: kind, By: me, Detail: Viewing}); err != nil {
			slog.WarnContext(ctx, "web: announce viewer", "err", err)
		}
	}
	announce("view")
	defer announce("leave")
	if cs != nil {
		if err := cs.catchUp(ctx, sse); err != nil || sse.flush() != nil {
			return
		}
		s.Chat.AskVisitor(ctx, cs.conv)
	}

	// notice writes one bus event as the page needs it (or nothing).
	notice := func(e events.Event) error {
		var name, data string
		switch e.Topic {
		case events.Tickets:
			name, data = "tickets", e.TicketID
			if ticketID != "" && (e.TicketID == ticketID || e.Kind == events.Resync) {
				// Two lines: lists and counts, and this page's ticket.
				if err := sse.event("", "tickets", data); err != nil {
					return err
				}
				name = "ticket"
			}
		case events.Viewers:
			if e.TicketID != ticketID || e.By == me {
				return nil
			}
			name, data = "viewers", e.By
		case events.Staff:
			name, data = "presence", e.By
		case events.Chat:
			var ok bool
			if data, ok = chat.ConsoleNotice(e); !ok {
				return nil
			}
			name = "chats"
		}
		return sse.event("", name, data)
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.streams.done:
			return
		case <-tick.C:
			s.touchPresence(ctx, me)
			announce("view")
			if sse.comment("ping") != nil || sse.flush() != nil {
				return
			}
		case <-chatWake:
			if cs.pending(ctx, sse) != nil || sse.flush() != nil {
				return
			}
		case e, ok := <-c:
			if !ok || notice(e) != nil {
				return
			}
			// What else has arrived goes out in the same write: under
			// load a console gets many notices at once.
			for n := len(c); n > 0; n-- {
				if e, ok := <-c; !ok || notice(e) != nil {
					return
				}
			}
			if sse.flush() != nil {
				return
			}
		}
	}
}
