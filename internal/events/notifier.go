package events

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// notifier sends the NOTIFYs of committed changes from one goroutine, as
// few statements as it can: whatever queued while the last statement was
// on its way goes in the next one.
type notifier struct {
	b    *Bus
	c    chan Event
	done chan struct{}
}

// notifyQueue bounds the events waiting to be sent. A full queue makes
// committers wait (after their commit) rather than lose a notice.
const notifyQueue = 4096

// notifyBatch is the most events one statement carries.
const notifyBatch = 200

func startNotifier(b *Bus) *notifier {
	n := &notifier{b: b, c: make(chan Event, notifyQueue), done: make(chan struct{})}
	go n.run()
	return n
}

func (n *notifier) send(e Event) { n.c <- e }

// stop sends what is queued, then ends.
func (n *notifier) stop() {
	close(n.c)
	<-n.done
}

func (n *notifier) run() {
	defer close(n.done)
	for e := range n.c {
		batch := []Event{e}
	more:
		for len(batch) < notifyBatch {
			select {
			case e, ok := <-n.c:
				if !ok {
					break more
				}
				batch = append(batch, e)
			default:
				break more
			}
		}
		n.flush(batch)
	}
}

func (n *notifier) flush(batch []Event) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var q strings.Builder
	args := []any{n.b.pg.channel(ctx)}
	q.WriteString("SELECT ")
	for _, e := range batch {
		payload, err := json.Marshal(e)
		if err != nil {
			continue
		}
		if len(args) > 1 {
			q.WriteString(", ")
		}
		args = append(args, string(payload))
		q.WriteString("pg_notify($1, $" + strconv.Itoa(len(args)) + ")")
	}
	if len(args) == 1 {
		return
	}
	if _, err := n.b.db.Write.ExecContext(ctx, q.String(), args...); err != nil {
		// Listeners re-read what they show on the next notice or
		// reconnect; a lost notice delays an update, it loses no data.
		n.b.log.Warn("events: notify failed; notices dropped", "events", len(batch), "err", err)
	}
}
