package portal

import (
	"sync"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/auth"
	"github.com/kefu-desk/kefu/internal/ratelimit"
)

// limiters are per-network-address token buckets, one set per instance:
// they stop a script hammering one instance cheaply, before any database
// work. Limits that must hold across instances (codes per address, failed
// sign-ins) are counted in the database instead.
type limiters struct {
	once   sync.Once
	submit *ratelimit.Keyed
	signIn *ratelimit.Keyed
}

func (s *Service) buckets() *limiters {
	if s.limiters == nil {
		s.limiters = &limiters{}
	}
	s.limiters.once.Do(func() {
		l := s.limits()
		s.limiters.submit = ratelimit.New(ratelimit.Every(l.SubmitEvery), l.SubmitBurst)
		s.limiters.signIn = ratelimit.New(ratelimit.Every(l.SignInEvery), l.SignInBurst)
	})
	return s.limiters
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
func check(b *ratelimit.Keyed, ip string, now time.Time) error {
	if ok, at := b.Take(ip, now); !ok {
		return limited(at, "too many attempts from your network; try again in a moment")
	}
	return nil
}
