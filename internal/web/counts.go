package web

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/events"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// countCache shares view counts between consoles. After each ticket
// change every open console asks for its counts at about the same
// moment; consoles that see the same tickets (supervisors, one agent's
// several tabs) get one computation between them. An entry is valid only
// until the next ticket event, so a count is never older than the last
// change this instance heard of.
type countCache struct {
	gen atomic.Uint64 // ticket events heard so far

	mu sync.Mutex
	m  map[string]cachedCount
}

type cachedCount struct {
	gen   uint64
	count int
	more  bool
}

// maxCachedCounts bounds the cache; past it the cache starts over.
const maxCachedCounts = 10_000

func newCountCache() *countCache { return &countCache{m: map[string]cachedCount{}} }

// follow invalidates the cache on every ticket event until the bus
// closes.
func (c *countCache) follow(bus *events.Bus) {
	ch, _ := bus.Subscribe(events.Tickets)
	for range ch {
		c.gen.Add(1)
	}
}

// key names a count by who is asking (what they may see) and the filter.
func countKey(a kefu.Actor, f ticket.Filter) string {
	scope := "all"
	if !a.SeesAllTickets() {
		deps := slices.Clone(a.Departments)
		slices.Sort(deps)
		scope = string(a.Role) + "/" + a.ID + "/" + strings.Join(deps, ",")
	}
	return scope + "|" + fmt.Sprintf("%v|%v|%s|%s|%s|%s|%s|%s|%s|%v|%v|%v|%v",
		f.Status, f.Priority, f.AssigneeID, f.DepartmentID, f.Category, f.Tag, f.CustomerID, f.Channel, f.OrderNumber,
		f.CreatedAfter.UnixNano(), f.CreatedBefore.UnixNano(), f.UpdatedAfter.UnixNano(), f.UpdatedBefore.UnixNano())
}

// get returns the capped count of f for the actor in ctx, computing it
// with list when no valid entry exists.
func (c *countCache) get(ctx context.Context, f ticket.Filter, list func(context.Context, ticket.Filter) (*ticket.Page, error)) (int, bool, error) {
	key := countKey(kefu.ActorFrom(ctx), f)
	gen := c.gen.Load()
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if ok && e.gen == gen {
		return e.count, e.more, nil
	}
	f.Limit = countCap
	p, err := list(ctx, f)
	if err != nil {
		return 0, false, err
	}
	e = cachedCount{gen: gen, count: len(p.Tickets), more: p.NextCursor != ""}
	c.mu.Lock()
	if len(c.m) >= maxCachedCounts {
		c.m = map[string]cachedCount{}
	}
	c.m[key] = e
	c.mu.Unlock()
	return e.count, e.more, nil
}
