package chat

import (
	"context"
	"sync"
	"time"

	"github.com/kefu-desk/kefu/internal/events"
)

// Hub hands chat notices to the streams open on this instance. It is one
// observer of the bus: each notice costs a map lookup and a wake-up of
// the streams of that conversation, whether a thousand streams are open
// or one. A woken stream reads what it has not shown from the database,
// so wake-ups that merge, or come while a stream is busy, lose nothing;
// the notice's number only spares a read when there is nothing new.
type Hub struct {
	svc *Service

	mu        sync.Mutex
	convs     map[string]map[*Listener]struct{}
	all       map[*Listener]struct{}
	positions map[string]Position // the last computed queue, by conversation
	computed  time.Time           // when positions were computed
	pending   bool                // a queue computation is scheduled
	closed    bool
	stop      func()
}

// Listener is one stream's subscription to a conversation.
type Listener struct {
	Conv    string
	visitor bool // the visitor's own stream (answers presence questions)
	wake    chan struct{}

	mu sync.Mutex
	p  Pending
}

// Pending is what happened since a stream last looked.
type Pending struct {
	Hint    int64 // the highest stored event number heard of
	Resync  bool  // notices may have been lost: read the database
	Ping    bool  // time for a heartbeat
	Typing  []Typing
	Visitor string    // "on" or "off": the visitor's widget connected or left
	Queue   *Position // the conversation's new place in the queue
}

// Typing is who started or stopped typing.
type Typing struct {
	By string // ByVisitor or a staff id
	On bool
}

// queueDelay gathers a burst of queue changes (a dozen chats accepted in
// a second) into one computation of every position.
const queueDelay = 150 * time.Millisecond

// Heartbeat is how often every stream is asked to send a comment line,
// so proxies keep it open and a dead client is noticed.
const Heartbeat = 20 * time.Second

// NewHub starts the hub on the service's bus; Close stops it.
func NewHub(svc *Service) *Hub {
	h := &Hub{svc: svc, convs: map[string]map[*Listener]struct{}{}, all: map[*Listener]struct{}{}}
	h.stop = svc.Bus.Observe(h.observe, events.Chat)
	return h
}

// Run sends heartbeats until ctx ends.
func (h *Hub) Run(ctx context.Context) {
	t := time.NewTicker(Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			h.each(h.all, func(p *Pending) { p.Ping = true })
		}
	}
}

// Close stops observing the bus and computing the queue.
func (h *Hub) Close() {
	h.stop()
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
}

// Listen subscribes a stream to conversation conv; visitor marks the
// visitor's own stream. Call Leave when the stream ends.
func (h *Hub) Listen(conv string, visitor bool) *Listener {
	l := &Listener{Conv: conv, visitor: visitor, wake: make(chan struct{}, 1)}
	h.mu.Lock()
	set := h.convs[conv]
	if set == nil {
		set = map[*Listener]struct{}{}
		h.convs[conv] = set
	}
	set[l] = struct{}{}
	h.all[l] = struct{}{}
	if pos, ok := h.positions[conv]; ok {
		l.p.Queue = &pos
	}
	stale := h.svc.Now().Sub(h.computed) > Heartbeat
	h.mu.Unlock()
	if stale {
		h.scheduleQueue()
	}
	return l
}

// Leave ends l's subscription.
func (h *Hub) Leave(l *Listener) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if set := h.convs[l.Conv]; set != nil {
		delete(set, l)
		if len(set) == 0 {
			delete(h.convs, l.Conv)
		}
	}
	delete(h.all, l)
}

// Streams reports how many streams are listening on this instance.
func (h *Hub) Streams() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.all)
}

// Wake is signalled when something is pending; call Take then.
func (l *Listener) Wake() <-chan struct{} { return l.wake }

// Take returns what is pending and clears it.
func (l *Listener) Take() Pending {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.p
	l.p = Pending{Hint: p.Hint}
	return p
}

// observe runs on the bus's delivering goroutine: it must not block.
func (h *Hub) observe(e events.Event) {
	switch e.Kind {
	case events.Resync:
		h.each(h.all, func(p *Pending) { p.Resync = true })
		h.scheduleQueue()
	case busStored:
		h.eachOf(e.Conv, func(l *Listener, p *Pending) {
			p.Hint = max(p.Hint, e.Seq)
		})
	case busTyping:
		h.eachOf(e.Conv, func(l *Listener, p *Pending) {
			if len(p.Typing) < 8 {
				p.Typing = append(p.Typing, Typing{By: e.By, On: e.Detail == "on"})
			}
		})
	case busVisitor:
		if e.Detail == "ask" {
			// A console asks whether the visitor is here: the instance
			// holding their stream answers, off the bus's goroutine.
			if h.hasVisitor(e.Conv) {
				conv := &Conversation{ID: e.Conv, TicketID: e.TicketID}
				go h.svc.VisitorPresence(context.Background(), conv, true)
			}
			return
		}
		h.eachOf(e.Conv, func(l *Listener, p *Pending) {
			if !l.visitor {
				p.Visitor = e.Detail
			}
		})
	case busQueue:
		h.scheduleQueue()
	}
}

func (h *Hub) hasVisitor(conv string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for l := range h.convs[conv] {
		if l.visitor {
			return true
		}
	}
	return false
}

// eachOf changes the pending state of conv's listeners and wakes them.
func (h *Hub) eachOf(conv string, fn func(*Listener, *Pending)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for l := range h.convs[conv] {
		l.mu.Lock()
		fn(l, &l.p)
		l.mu.Unlock()
		l.signal()
	}
}

func (h *Hub) each(set map[*Listener]struct{}, fn func(*Pending)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for l := range set {
		l.mu.Lock()
		fn(&l.p)
		l.mu.Unlock()
		l.signal()
	}
}

func (l *Listener) signal() {
	select {
	case l.wake <- struct{}{}:
	default: // already signalled; it will take everything at once
	}
}

func (h *Hub) scheduleQueue() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.pending || h.closed || len(h.all) == 0 {
		return
	}
	h.pending = true
	time.AfterFunc(queueDelay, h.computeQueue)
}

// computeQueue reads every queued conversation's position once and hands
// each waiting visitor theirs.
func (h *Hub) computeQueue() {
	h.mu.Lock()
	h.pending = false
	closed := h.closed
	h.mu.Unlock()
	if closed {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pos, err := h.svc.Positions(ctx)
	if err != nil {
		h.svc.log().Warn("chat: queue positions", "err", err)
		return
	}
	h.mu.Lock()
	h.positions, h.computed = pos, h.svc.Now()
	h.mu.Unlock()
	for conv, p := range pos {
		h.eachOf(conv, func(l *Listener, pp *Pending) {
			if l.visitor {
				pp.Queue = &p
			}
		})
	}
}
