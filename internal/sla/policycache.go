package sla

import (
	"context"
	"sync"
	"time"

	"github.com/kefu-desk/kefu/internal/database"
)

// policyCacheTTL is how long the policy list read for new and changed
// tickets is reused. Every ticket change needs the list, and it changes
// a few times a year. An edit drops the list at once on the instance that
// made it; other instances share one database but not this cache, so they
// pick the edit up within policyCacheTTL, and the recomputation the edit
// enqueues waits that long (deferRecompute), so a ticket that another
// instance placed under the old list in the meantime is moved under the
// new one.
const policyCacheTTL = 2 * time.Second

type policyCache struct {
	mu     sync.Mutex
	list   []Policy
	loaded time.Time // zero: nothing cached
}

// policies returns the cached list, reading it through q when it is
// missing or older than policyCacheTTL.
func (s *Service) policies(ctx context.Context, q database.Querier) ([]Policy, error) {
	c := &s.policyCache
	now := s.Now()
	c.mu.Lock()
	if !c.loaded.IsZero() && now.Sub(c.loaded) < policyCacheTTL && !now.Before(c.loaded) {
		list := c.list
		c.mu.Unlock()
		return list, nil
	}
	c.mu.Unlock()
	list, err := listPolicies(ctx, q)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.list, c.loaded = list, now
	c.mu.Unlock()
	return list, nil
}

// dropPolicies forgets the cached list.
func (s *Service) dropPolicies() {
	s.policyCache.mu.Lock()
	s.policyCache.loaded = time.Time{}
	s.policyCache.mu.Unlock()
}
