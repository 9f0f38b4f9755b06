// Package testclock is a clock that tests set and move by hand, for the
// services' Now functions.
package testclock

import (
	"sync"
	"time"
)

// Clock is safe for concurrent use: services read it from their own
// goroutines while a test moves it.
type Clock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
}

// New returns a clock showing t. Each reading moves it on by step, so
// that with a step every change a test makes has an instant of its own;
// with none it moves only when told.
func New(t time.Time, step time.Duration) *Clock {
	return &Clock{t: t, step: step}
}

// Now returns the time shown, then moves on by the step.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(c.step)
	return c.t
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Set shows t from now on, in UTC and to the microsecond, as both
// engines store times.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t.UTC().Truncate(time.Microsecond)
	c.mu.Unlock()
}
