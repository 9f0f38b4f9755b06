package chat

import (
	"bytes"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limits bound what visitors may send and how fast. Rates are per
// instance: behind a load balancer spreading one visitor over n
// instances the effective rate is up to n times as high, which still
// stops a script hammering one address.
type Limits struct {
	MessageBytes int      // longest message text
	FileBytes    int64    // largest attachment
	Files        int      // attachments per message
	FileTypes    []string // content types accepted, by what the bytes are, not what the browser says
	// Messages a visitor may send: a steady rate and a burst.
	VisitorRate  rate.Limit
	VisitorBurst int
	// Requests of any kind from one IP address: every widget call.
	IPRate  rate.Limit
	IPBurst int
	// New visitors (sessions without a valid token) from one IP address.
	StartRate  rate.Limit
	StartBurst int
	// Typing notices a visitor may send; more are dropped quietly.
	TypingRate  rate.Limit
	TypingBurst int
	// Transcripts one conversation may have mailed per hour.
	TranscriptsPerHour int
}

// DefaultLimits suit a person typing: a message a second with bursts of
// ten, photos up to 10 MB, and enough per address for a family or a
// small office behind one NAT.
var DefaultLimits = Limits{
	MessageBytes: 4000,
	FileBytes:    10 << 20,
	Files:        4,
	FileTypes:    []string{"image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf"},
	VisitorRate:  1, VisitorBurst: 10,
	IPRate: 20, IPBurst: 200,
	StartRate: 0.2, StartBurst: 20,
	TypingRate: 1, TypingBurst: 5,
	TranscriptsPerHour: 3,
}

// buckets holds a token bucket per key (visitor id, IP address). Idle
// buckets are full again and cost nothing to forget, so the map is
// pruned of them now and then.
type buckets struct {
	rate  rate.Limit
	burst int

	mu     sync.Mutex
	m      map[string]*bucket
	pruned time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// pruneAfter: a bucket untouched this long has refilled at any of the
// rates above.
const pruneAfter = 10 * time.Minute

func newBuckets(r rate.Limit, burst int) *buckets {
	return &buckets{rate: r, burst: burst, m: map[string]*bucket{}}
}

// allow takes one token from key's bucket at now, the service's clock.
func (b *buckets) allow(key string, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if now.Sub(b.pruned) > pruneAfter {
		for k, v := range b.m {
			if now.Sub(v.seen) > pruneAfter {
				delete(b.m, k)
			}
		}
		b.pruned = now
	}
	e := b.m[key]
	if e == nil {
		e = &bucket{lim: rate.NewLimiter(b.rate, b.burst)}
		b.m[key] = e
	}
	e.seen = now
	return e.lim.AllowN(now, 1)
}

// sniff names the type of a file from its first bytes, for the types
// the widget accepts; "" for anything else. The browser's claim is not
// trusted: a file is what its bytes are.
func sniff(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("\xFF\xD8\xFF")):
		return "image/jpeg"
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png"
	case bytes.HasPrefix(head, []byte("GIF87a")), bytes.HasPrefix(head, []byte("GIF89a")):
		return "image/gif"
	case len(head) >= 12 && bytes.Equal(head[:4], []byte("RIFF")) && bytes.Equal(head[8:12], []byte("WEBP")):
		return "image/webp"
	case bytes.HasPrefix(head, []byte("%PDF-")):
		return "application/pdf"
	}
	return ""
}
