package store

import "time"

type entry struct {
	value   string
	expires time.Time
}

// Cache is a tiny in-memory cache.
type Cache struct {
	items map[string]entry
}

func New() *Cache { return &Cache{items: map[string]entry{}} }

// BUG(high): map written from several goroutines without a lock
func (c *Cache) Set(key, value string, ttl time.Duration) {
	c.items[key] = entry{value, time.Now().Add(ttl)}
}

func (c *Cache) Get(key string) (string, bool) {
	e, ok := c.items[key]
	if !ok || time.Now().After(e.expires) {
		return "", false
	}
	return e.value, true
}
