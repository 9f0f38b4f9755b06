// Package ratelimit keeps a token bucket (golang.org/x/time/rate) per key
// — a network address, a chat visitor, a conversation — in memory: the
// cheap first line against a script hammering one instance, checked
// before any database work. Buckets live in one instance: behind a load
// balancer spreading a client over n instances the effective rate is up
// to n times as high. Limits that must hold across a cluster are counted
// in the database by the packages that need them.
package ratelimit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Keyed holds one bucket per key, all with the same rate and burst.
type Keyed struct {
	rate  rate.Limit
	burst int
	// forget is how long a bucket takes to fill up again: one untouched
	// that long is full, the same as a new one, and is dropped.
	forget time.Duration

	mu     sync.Mutex
	m      map[string]*entry
	pruned time.Time
}

type entry struct {
	lim  *rate.Limiter
	seen time.Time
}

// New returns buckets holding burst tokens, refilled at r tokens a second.
func New(r rate.Limit, burst int) *Keyed {
	forget := time.Hour
	if r > 0 {
		forget = max(time.Duration(float64(burst)/float64(r)*float64(time.Second)), time.Minute)
	}
	return &Keyed{rate: r, burst: burst, forget: forget, m: map[string]*entry{}}
}

// Every is the rate of one token per interval, as rate.Every.
func Every(interval time.Duration) rate.Limit { return rate.Every(interval) }

// Allow takes a token from key's bucket at now, the caller's clock.
func (k *Keyed) Allow(key string, now time.Time) bool {
	ok, _ := k.Take(key, now)
	return ok
}

// Take is Allow that also says, when it refuses, when the next token
// comes (for a Retry-After).
func (k *Keyed) Take(key string, now time.Time) (ok bool, next time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if now.Sub(k.pruned) > k.forget {
		for key, e := range k.m {
			if now.Sub(e.seen) > k.forget {
				delete(k.m, key)
			}
		}
		k.pruned = now
	}
	e := k.m[key]
	if e == nil {
		e = &entry{lim: rate.NewLimiter(k.rate, k.burst)}
		k.m[key] = e
	}
	e.seen = now
	r := e.lim.ReserveN(now, 1)
	if !r.OK() {
		return false, now.Add(k.forget)
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, now.Add(d)
	}
	return true, time.Time{}
}
