package chat

import (
	"time"

	"github.com/kefu-desk/kefu/internal/blob"
	"github.com/kefu-desk/kefu/internal/ratelimit"
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

// buckets holds a token bucket per key (visitor id, IP address).
type buckets struct{ k *ratelimit.Keyed }

func newBuckets(r rate.Limit, burst int) *buckets { return &buckets{ratelimit.New(r, burst)} }

// allow takes one token from key's bucket at now, the service's clock.
func (b *buckets) allow(key string, now time.Time) bool { return b.k.Allow(key, now) }

// sniff names the type of a file from its first bytes (blob.Sniff); the
// caller accepts only the widget's types of those.
func sniff(head []byte) string { return blob.Sniff(head) }
