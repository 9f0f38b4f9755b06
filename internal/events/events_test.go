package events_test

import (
	"context"
	"database/sql"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/events"
)

func TestPublishAfterCommitOnly(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		bus, ctx := readyBus(t, db, 10*time.Second)
		c, unsub := bus.Subscribe(events.Tickets)
		defer unsub()
		other, unsubOther := bus.Subscribe(events.Viewers)
		defer unsubOther()

		errBoom := errors.New("boom")
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			if err := bus.PublishTx(ctx, tx, events.Event{Topic: events.Tickets, TicketID: "rolled-back", Kind: "updated"}); err != nil {
				return err
			}
			return errBoom
		})
		if !errors.Is(err, errBoom) {
			t.Fatal(err)
		}
		err = db.InTx(ctx, func(tx *sql.Tx) error {
			return bus.PublishTx(ctx, tx, events.Event{Topic: events.Tickets, TicketID: "a", Kind: "updated", Version: 3, By: "s"})
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := bus.Publish(ctx, events.Event{Topic: events.Tickets, TicketID: "b", Kind: "message"}); err != nil {
			t.Fatal(err)
		}
		var got []events.Event
		for len(got) < 2 {
			select {
			case e := <-c:
				got = append(got, e)
			case <-ctx.Done():
				t.Fatalf("got %d events before timeout: %+v", len(got), got)
			}
		}
		if got[0].TicketID != "a" || got[0].Version != 3 || got[0].By != "s" || got[1].TicketID != "b" {
			t.Fatalf("events = %+v; want a (committed) then b, never the rolled-back one", got)
		}
		if got[1].ID <= got[0].ID {
			t.Errorf("event ids %d, %d; want increasing", got[0].ID, got[1].ID)
		}
		select {
		case e := <-other:
			t.Errorf("viewers subscriber got %+v", e)
		default:
		}
	})
}

func TestUnsubscribeClosesChannel(t *testing.T) {
	bus := events.New(databasetest.Open(t, "sqlite"), nil)
	c, unsub := bus.Subscribe(events.Tickets)
	unsub()
	unsub() // twice is harmless
	if _, ok := <-c; ok {
		t.Fatal("channel still open after unsubscribe")
	}
	if err := bus.Publish(context.Background(), events.Event{Topic: events.Tickets}); err != nil {
		t.Fatal(err)
	}
}

func TestCloseEndsSubscriptions(t *testing.T) {
	bus := events.New(databasetest.Open(t, "sqlite"), nil)
	c, unsub := bus.Subscribe(events.Viewers)
	bus.Close()
	if _, ok := <-c; ok {
		t.Fatal("channel still open after Close")
	}
	unsub() // after Close: harmless
}

// An observer sees every event in order, even far more than a
// subscription's buffer holds, and nothing once cancelled.
func TestObserveMissesNothing(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		bus, ctx := readyBus(t, db, 20*time.Second)
		got := make(chan events.Event, 1000)
		stop := bus.Observe(func(e events.Event) { got <- e }, events.Chat)
		const n = 300
		for i := 1; i <= n; i++ {
			if err := bus.Publish(ctx, events.Event{Topic: events.Chat, Kind: "e", Conv: "c", Seq: int64(i)}); err != nil {
				t.Fatal(err)
			}
		}
		_ = bus.Publish(ctx, events.Event{Topic: events.Tickets, Kind: "updated"})
		for i := 1; i <= n; i++ {
			select {
			case e := <-got:
				if e.Seq != int64(i) || e.Conv != "c" || e.Topic != events.Chat {
					t.Fatalf("event %d = %+v", i, e)
				}
			case <-ctx.Done():
				t.Fatalf("only %d of %d events observed", i-1, n)
			}
		}
		stop()
		if err := bus.Publish(ctx, events.Event{Topic: events.Chat, Kind: "e", Seq: n + 1}); err != nil {
			t.Fatal(err)
		}
		// A later subscriber's event proves the cancelled observer had its
		// chance to see the one before.
		c, unsub := bus.Subscribe(events.Chat)
		defer unsub()
		if err := bus.Publish(ctx, events.Event{Topic: events.Chat, Kind: "e", Seq: n + 2}); err != nil {
			t.Fatal(err)
		}
		for e := range c {
			if e.Seq == n+2 {
				break
			}
		}
		select {
		case e := <-got:
			t.Fatalf("cancelled observer got %+v", e)
		default:
		}
	})
}

// A subscriber that hears of an event and reads what an observer keeps
// finds the event applied: observers hear of it first.
func TestObserversHearFirst(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		bus, ctx := readyBus(t, db, 20*time.Second)
		var subs []<-chan events.Event
		for range 4 {
			c, unsub := bus.Subscribe(events.Viewers)
			defer unsub()
			subs = append(subs, c)
		}
		// Each subscriber's channel is emptied after every event, so one
		// that holds an event when the observer hears it heard it first.
		var late atomic.Int64
		stop := bus.Observe(func(e events.Event) {
			for _, c := range subs {
				if len(c) > 0 {
					late.Store(e.Seq)
				}
			}
		}, events.Viewers)
		defer stop()
		for i := int64(1); i <= 40; i++ {
			if err := bus.Publish(ctx, events.Event{Topic: events.Viewers, Kind: "view", Seq: i}); err != nil {
				t.Fatal(err)
			}
			for _, c := range subs {
				select {
				case <-c:
				case <-ctx.Done():
					t.Fatalf("event %d did not arrive", i)
				}
			}
		}
		if s := late.Load(); s != 0 {
			t.Errorf("a subscriber heard event %d before the observer", s)
		}
	})
}

// readyBus returns a listening bus on db and a context that ends within
// the given time; both end with the test.
func readyBus(t *testing.T, db *database.DB, within time.Duration) (*events.Bus, context.Context) {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	t.Cleanup(cancel)
	bus := events.New(db, nil)
	t.Cleanup(bus.Close)
	if err := bus.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	return bus, ctx
}
