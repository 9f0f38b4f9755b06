package sla

import (
	"context"
	"time"

	"github.com/kefu-desk/kefu/internal/cache"
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

// policyLists is the process's cache of policy lists, keyed by store,
// so the Services of one process share it.
var policyLists = cache.New[*database.DB, []Policy](policyCacheTTL)

// policies returns the cached list, reading it through q when it is
// missing or older than policyCacheTTL.
func (s *Service) policies(ctx context.Context, q database.Querier) ([]Policy, error) {
	now := s.Now()
	if list, ok := policyLists.Get(s.DB, now); ok {
		return list, nil
	}
	list, err := listPolicies(ctx, q)
	if err != nil {
		return nil, err
	}
	policyLists.Put(s.DB, list, now)
	return list, nil
}

// dropPolicies forgets the cached list.
func (s *Service) dropPolicies() { policyLists.Delete(s.DB) }
