package events

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"
)

// pgListener holds one dedicated LISTEN connection per instance and hands
// what arrives to the bus's local subscribers. Every event, including
// this instance's own, comes back through it, so delivery order is the
// database's commit order on every instance alike.
type pgListener struct {
	bus    *Bus
	name   string
	cancel context.CancelFunc
	exited chan struct{}
	ready  chan struct{} // closed once the first LISTEN is in place
}

// Resync is the Kind of the event delivered (on the Tickets and the Chat
// topic) after the listener reconnects: notifications sent while it was
// away are lost, so consoles should re-read what they show and chat
// streams catch up from the stored chat events.
const Resync = "resync"

func startListener(b *Bus) *pgListener {
	ctx, cancel := context.WithCancel(context.Background())
	l := &pgListener{bus: b, cancel: cancel, exited: make(chan struct{}), ready: make(chan struct{})}
	l.name = channelName(ctx, b)
	go l.run(ctx)
	return l
}

// channelName is per schema: a NOTIFY channel is database-wide, and
// several Kefu stores (tests, staging) may share one database.
func channelName(ctx context.Context, b *Bus) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var schema string
	if err := b.db.Write.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil || schema == "public" {
		return "kefu_events"
	}
	name := "kefu_events_" + schema
	if len(name) > 63 { // PostgreSQL truncates identifiers to 63 bytes
		name = name[:63]
	}
	return name
}

func (l *pgListener) channel(context.Context) string { return l.name }

func (l *pgListener) stop() {
	l.cancel()
	<-l.exited
}

// WaitReady blocks until the listener has subscribed once, or ctx ends.
// Tests use it so a NOTIFY is not sent before anyone listens.
func (b *Bus) WaitReady(ctx context.Context) error {
	if b.pg == nil {
		return nil
	}
	select {
	case <-b.pg.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run keeps a LISTEN connection until ctx ends, reconnecting with
// backoff (100ms doubling to 30s, with jitter).
func (l *pgListener) run(ctx context.Context) {
	defer close(l.exited)
	const first, limit = 100 * time.Millisecond, 30 * time.Second
	wait := first
	connected := false
	for {
		start := time.Now()
		err := l.listenOnce(ctx, &connected)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > limit {
			wait = first
		}
		l.bus.log.Warn("events: listener stopped; reconnecting", "err", err, "in", wait)
		t := time.NewTimer(wait/2 + rand.N(wait/2))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(2*wait, limit)
	}
}

func (l *pgListener) listenOnce(ctx context.Context, connected *bool) error {
	conn, err := l.bus.db.Listen(ctx, l.name)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if *connected {
		l.bus.deliver(Event{Topic: Tickets, Kind: Resync})
		l.bus.deliver(Event{Topic: Chat, Kind: Resync})
	} else {
		*connected = true
		close(l.ready)
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if n == nil {
			return fmt.Errorf("listen: no notification and no error")
		}
		var e Event
		if err := json.Unmarshal([]byte(n.Payload), &e); err != nil {
			l.bus.log.Warn("events: unreadable notification", "err", err)
			continue
		}
		l.bus.deliver(e)
	}
}
