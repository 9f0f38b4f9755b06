// Package events carries small notices of change ("ticket KF-10234 has a
// new message") from whoever made the change to every open console, on
// this instance and on every other instance sharing the database. With
// PostgreSQL the notices travel through LISTEN/NOTIFY; with SQLite, which
// has one process, an in-process fan-out does the same job.
//
// A notice says what changed, never the data itself: a receiver re-reads
// what it shows through the services, with its own permissions.
package events

import (
	"context"
	"database/sql"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/kefu-desk/kefu/internal/database"
)

// Topics an event can be published on.
const (
	Tickets = "tickets" // a ticket was created, changed or got a message
	Viewers = "viewers" // someone opened, left or is replying on a ticket
	Staff   = "staff"   // presence changed
	Chat    = "chat"    // a live chat changed: a stored chat event, typing, the queue
)

// Event is one notice. ID is assigned on delivery by the receiving
// instance and grows monotonically there, so an SSE stream can number
// its events.
type Event struct {
	ID       uint64 `json:"-"`
	Topic    string `json:"t"`
	TicketID string `json:"i,omitempty"`
	Kind     string `json:"k"`
	Version  int    `json:"v,omitempty"`
	By       string `json:"b,omitempty"` // staff id of who caused it
	// Detail is a short free field: a viewer's mode ("viewing",
	// "replying"), a presence status.
	Detail string `json:"d,omitempty"`
	// Conv and Seq name a stored chat event (internal/chat): the
	// conversation and the event's number in it. Unlike ID, Seq is the
	// same on every instance and survives restarts, so a chat stream can
	// resume from it.
	Conv string `json:"c,omitempty"`
	Seq  int64  `json:"s,omitempty"`
}

// Bus publishes and delivers events. Create it with New.
type Bus struct {
	db  *database.DB
	log *slog.Logger
	seq atomic.Uint64

	mu   sync.Mutex
	subs map[*sub]struct{}

	pg  *pgListener // nil on SQLite
	out *notifier   // nil on SQLite
}

type sub struct {
	topics []string
	c      chan Event
	fn     func(Event) // set for Observe: called in place of a send on c
}

// subBuffer is how many undelivered events a slow subscriber may have;
// past that it misses events rather than slowing everyone down (a
// console re-reads the whole fragment on the next one anyway).
const subBuffer = 64

// New returns a bus on db. On PostgreSQL it starts listening at once (and
// reconnects on its own); call Close to stop.
func New(db *database.DB, log *slog.Logger) *Bus {
	if log == nil {
		log = slog.Default()
	}
	b := &Bus{db: db, log: log, subs: map[*sub]struct{}{}}
	if db != nil && db.Dialect.Name() == "postgres" {
		b.pg = startListener(b)
		b.out = startNotifier(b)
	}
	return b
}

// Close stops the PostgreSQL listener, if any, and ends every
// subscription (their channels close).
func (b *Bus) Close() {
	if b.pg != nil {
		b.out.stop()
		b.pg.stop()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		delete(b.subs, s)
		if s.c != nil {
			close(s.c)
		}
	}
}

// Subscribe returns a channel of the events on topics, and a function
// that ends the subscription and closes the channel.
func (b *Bus) Subscribe(topics ...string) (<-chan Event, func()) {
	s := &sub{topics: topics, c: make(chan Event, subBuffer)}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s.c, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if _, ok := b.subs[s]; ok { // not already ended by Close
			delete(b.subs, s)
			close(s.c)
		}
	}
}

// Observe calls fn with every event on topics, in delivery order, until
// the returned function is called. Unlike Subscribe it never drops an
// event, so fn must not block: it runs on the delivering goroutine (the
// PostgreSQL listener, or the committing one on SQLite) with the bus
// locked, and must not call the bus. It suits one fan-out per process
// (the chat streams) that hands events on to many listeners itself, and
// state that subscribers read when they hear of a change: observers hear
// of every event before any subscriber does.
func (b *Bus) Observe(fn func(Event), topics ...string) (cancel func()) {
	s := &sub{topics: topics, fn: fn}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return func() {
		b.mu.Lock()
		delete(b.subs, s)
		b.mu.Unlock()
	}
}

// Publish sends e outside any transaction, for events that are not about
// stored changes (viewers, presence, typing): at once on SQLite, through
// the notifier's queue on PostgreSQL.
func (b *Bus) Publish(ctx context.Context, e Event) error {
	if b.out != nil {
		// Queued behind the notices of earlier commits, so one
		// instance's events reach every instance in the order it made
		// them.
		b.out.send(e)
		return nil
	}
	b.deliver(e)
	return nil
}

// PublishTx sends e once tx commits, and never if it rolls back. On
// SQLite it is handed to the subscribers after commit; on PostgreSQL it
// is queued after commit for the notifier, which NOTIFYs every instance
// within about a millisecond. (A NOTIFY inside the transaction would be
// exact, but PostgreSQL serialises the commits of all transactions that
// notify, fsync included, on one database-wide lock: that capped ticket
// creation at one commit at a time.) tx must come from the DB's InTx.
func (b *Bus) PublishTx(ctx context.Context, tx *sql.Tx, e Event) error {
	if b.out != nil {
		b.db.AfterCommit(tx, func() { b.out.send(e) })
		return nil
	}
	b.db.AfterCommit(tx, func() { b.deliver(e) })
	return nil
}

// deliver hands e to every subscriber of its topic without blocking:
// to the observers first, so that a subscriber that hears of e and reads
// what an observer keeps (who is viewing a ticket, say) finds e applied.
func (b *Bus) deliver(e Event) {
	e.ID = b.seq.Add(1)
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		if s.fn != nil && slices.Contains(s.topics, e.Topic) {
			s.fn(e)
		}
	}
	for s := range b.subs {
		if s.fn != nil || !slices.Contains(s.topics, e.Topic) {
			continue
		}
		select {
		case s.c <- e:
		default:
			b.log.Debug("events: subscriber is behind; event dropped", "topic", e.Topic, "kind", e.Kind)
		}
	}
}
