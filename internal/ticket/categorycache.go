package ticket

import (
	"time"

	"github.com/kefu-desk/kefu/internal/cache"
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
var categories = cache.New[categoryKey, struct{}](categoryCacheTTL)

type categoryKey struct {
	db  *database.DB
	key string
}

// dropCategories forgets db's categories.
func dropCategories(db *database.DB) {
	categories.DeleteFunc(func(k categoryKey, _ struct{}) bool { return k.db == db })
}

func isActive(db *database.DB, key string, now time.Time) bool {
	_, ok := categories.Get(categoryKey{db, key}, now)
	return ok
}
