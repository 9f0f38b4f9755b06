package portal

import (
	"sync"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/auth"
	"golang.org/x/time/rate"
)

// limiters are per-network-address token buckets, one set per instance:
// they stop a script hammering one instance cheaply, before any database
// work. Limits that must hold across instances (codes per address, failed
// sign-ins) are counted in the database instead.
type limiters struct {
	once   sync.Once
	submit *bucket
	signIn *bucket
}

func (s *Service) buckets() *limiters {
	if s.limiters == nil {
		s.limiters = &limiters{}
	}
	s.limiters.once.Do(func() {
		l := s.limits()
		s.limiters.submit = newBucket(l.SubmitEvery, l.SubmitBurst)
		s.limiters.signIn = newBucket(l.SignInEvery, l.SignInBurst)
	})
	return s.limiters
}

// bucket holds one rate.Limiter per key, forgetting keys that have been
// idle long enough to be full again.
type bucket struct {
	mu     sync.Mutex
	every  time.Duration
	burst  int
	keys   map[string]*entry
	pruned time.Time
}

type entry struct {
	lim  *rate.Limiter
	used time.Time
}

func newBucket(every time.Duration, burst int) *bucket {
	return &bucket{every: every, burst: burst, keys: map[string]*entry{}}
}

// allow takes a token for key at now, or reports when the next one comes.
func (b *bucket) allow(key string, now time.Time) (bool, time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	full := b.every * time.Duration(b.burst)
	if now.Sub(b.pruned) > full {
		for k, e := range b.keys {
			if now.Sub(e.used) > full {
				delete(b.keys, k)
			}
		}
		b.pruned = now
	}
	e := b.keys[key]
	if e == nil {
		e = &entry{lim: rate.NewLimiter(rate.Every(b.every), b.burst)}
		b.keys[key] = e
	}
	e.used = now
	r := e.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, now.Add(d)
	}
	return true, time.Time{}
}

// limited is a RateLimited error carrying when to try again, in the
// shape auth uses for sign-in, so the API and pages set Retry-After the
// same way (auth.RetryAt).
func limited(at time.Time, format string, args ...any) error {
	e := kefu.Errorf(kefu.RateLimited, format, args...)
	e.Err = &auth.RetryError{RetryAt: at}
	return e
}

// check takes a token from b for ip, or returns a RateLimited error.
func (b *bucket) check(ip string, now time.Time) error {
	if ok, at := b.allow(ip, now); !ok {
		return limited(at, "too many attempts from your network; try again in a moment")
	}
	return nil
}
