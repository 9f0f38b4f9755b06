package ticket

import (
	"sync"
	"time"

	"github.com/kefu-desk/kefu/internal/database"
)

// categoryCacheTTL is how long a category found active is taken to be
// active without asking the database again. Every new ticket names a
// category, and the list changes rarely. An unknown key is always looked
// up, so a category just added is usable at once everywhere; one just
// archived is still accepted for up to this long by other instances
// (the instance that archived it forgets at once).
const categoryCacheTTL = 5 * time.Second

// categories is the process's cache of active categories. It is keyed by
// store, so the Services of one process (and copies of one, with other
// hooks) share it.
var categories = categoryCache{keys: map[categoryKey]time.Time{}}

type categoryKey struct {
	db  *database.DB
	key string
}

type categoryCache struct {
	mu   sync.Mutex
	keys map[categoryKey]time.Time // when the category was found active
}

func (c *categoryCache) active(db *database.DB, key string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	at, ok := c.keys[categoryKey{db, key}]
	return ok && !now.Before(at) && now.Sub(at) < categoryCacheTTL
}

func (c *categoryCache) seen(db *database.DB, key string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keys[categoryKey{db, key}] = now
}

// drop forgets db's categories.
func (c *categoryCache) drop(db *database.DB) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.keys {
		if k.db == db {
			delete(c.keys, k)
		}
	}
}
