// Package cache keeps rows that are read on every request (an API
// token, its owner, the active categories, the SLA policies) for a few
// seconds, so a busy client does not repeat the same queries. Entries
// expire after a fixed time to live: a change made by another instance
// on the same database shows within that time, and the instance that
// makes a change deletes what it changed at once.
package cache

import (
	"sync"
	"time"
)

// maxEntries bounds a cache: past it, Put first drops what has expired.
const maxEntries = 1024

// TTL maps keys to values that are fresh for a fixed time. The zero value
// is not usable; make one with New.
type TTL[K comparable, V any] struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[K]entry[V]
}

type entry[V any] struct {
	v  V
	at time.Time
}

// New returns an empty cache whose entries live for ttl.
func New[K comparable, V any](ttl time.Duration) *TTL[K, V] {
	return &TTL[K, V]{ttl: ttl, m: map[K]entry[V]{}}
}

func (c *TTL[K, V]) fresh(e entry[V], now time.Time) bool {
	// A clock that went backwards makes an entry stale, not eternal.
	return !now.Before(e.at) && now.Sub(e.at) < c.ttl
}

// Get returns the value stored for k if it was stored less than the time
// to live before now.
func (c *TTL[K, V]) Get(k K, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok || !c.fresh(e, now) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// Put stores v for k as read at now.
func (c *TTL[K, V]) Put(k K, v V, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxEntries {
		for k, e := range c.m {
			if !c.fresh(e, now) {
				delete(c.m, k)
			}
		}
	}
	c.m[k] = entry[V]{v: v, at: now}
}

// Update changes the value stored for k, if any, keeping its age.
func (c *TTL[K, V]) Update(k K, f func(V) V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[k]; ok {
		e.v = f(e.v)
		c.m[k] = e
	}
}

// Delete forgets k.
func (c *TTL[K, V]) Delete(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, k)
}

// DeleteFunc forgets every entry for which drop returns true.
func (c *TTL[K, V]) DeleteFunc(drop func(K, V) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.m {
		if drop(k, e.v) {
			delete(c.m, k)
		}
	}
}
