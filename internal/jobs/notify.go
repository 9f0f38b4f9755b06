package jobs

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/kefu-desk/kefu/internal/database"
)

// channel is the PostgreSQL notification channel Enqueue signals on. A
// channel is database-wide (not per schema), so Runners on other schemas
// of the same database wake up too, find nothing, and go back to sleep.
const channel = "kefu_jobs"

// Notifier wakes Runners soon after a job is enqueued instead of at their
// next poll. On SQLite it is an in-process broadcast: share one Notifier
// between the Queue and the Runners of the process. On PostgreSQL it
// LISTENs on a dedicated connection while anyone is subscribed, so jobs
// enqueued on any instance wake Runners on all of them. The zero value
// with DB set is ready to use.
type Notifier struct {
	DB  *database.DB
	Log *slog.Logger

	mu     sync.Mutex
	subs   map[chan struct{}]struct{}
	stop   context.CancelFunc // stops the listener; nil when none runs
	exited chan struct{}      // closed when the listener has returned
}

// Subscribe returns a channel that receives a value after jobs are
// enqueued, and a function to unsubscribe. Signals coalesce: one value
// may stand for many enqueues, so a receiver claims all that is due.
func (n *Notifier) Subscribe() (<-chan struct{}, func()) {
	c := make(chan struct{}, 1)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.subs == nil {
		n.subs = map[chan struct{}]struct{}{}
	}
	n.subs[c] = struct{}{}
	if len(n.subs) == 1 && n.DB.Dialect.Name() == "postgres" {
		ctx, cancel := context.WithCancel(context.Background())
		n.stop, n.exited = cancel, make(chan struct{})
		go n.listen(ctx, n.exited)
	}
	var once sync.Once
	return c, func() { once.Do(func() { n.unsubscribe(c) }) }
}

func (n *Notifier) unsubscribe(c chan struct{}) {
	n.mu.Lock()
	delete(n.subs, c)
	var exited chan struct{}
	if len(n.subs) == 0 && n.stop != nil {
		n.stop()
		exited = n.exited
		n.stop, n.exited = nil, nil
	}
	n.mu.Unlock()
	if exited != nil {
		<-exited // the connection is closed before Runner.Run returns
	}
}

// broadcast signals every subscriber without blocking. A nil Notifier
// does nothing, so Runners fall back to polling.
func (n *Notifier) broadcast() {
	if n == nil {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for c := range n.subs {
		select {
		case c <- struct{}{}:
		default: // a signal is already waiting
		}
	}
}

func (n *Notifier) log() *slog.Logger {
	if n.Log != nil {
		return n.Log
	}
	return slog.Default()
}

// listen holds a LISTEN connection until ctx ends, reconnecting with
// backoff (100ms doubling to 30s, with jitter) when it drops. Each
// (re)connect also broadcasts, since notifications sent while no
// connection was listening are lost.
func (n *Notifier) listen(ctx context.Context, exited chan struct{}) {
	defer close(exited)
	const first, limit = 100 * time.Millisecond, 30 * time.Second
	wait := first
	for {
		start := time.Now()
		err := n.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > limit {
			wait = first // it had been up a while: a fresh failure
		}
		n.log().Warn("jobs: notification listener stopped; reconnecting", "err", err, "in", wait)
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

func (n *Notifier) listenOnce(ctx context.Context) error {
	conn, err := n.DB.Listen(ctx, channel)
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		conn.Close(cctx)
	}()
	n.broadcast()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		n.broadcast()
	}
}
