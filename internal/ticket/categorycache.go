package ticket

import (
	"sync"
	"time"
)

// categoryCacheTTL is how long a category found active is taken to be
// active without asking the database again. Every new ticket names a
// category, and the list changes rarely. An unknown key is always looked
// up, so a category just added is usable at once everywhere; one just
// archived is still accepted for up to this long by other instances
// (the instance that archived it forgets at once).
const categoryCacheTTL = 5 * time.Second

type categoryCache struct {
	mu   sync.Mutex
	keys map[string]time.Time // key → when it was found active
}

func (c *categoryCache) active(key string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	at, ok := c.keys[key]
	return ok && !now.Before(at) && now.Sub(at) < categoryCacheTTL
}

func (c *categoryCache) seen(key string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.keys == nil {
		c.keys = map[string]time.Time{}
	}
	c.keys[key] = now
}

func (c *categoryCache) drop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keys = nil
}
