package auth

import (
	"sync"
	"time"
)

// maxCacheEntries bounds each cache; a full cache is dropped wholesale.
const maxCacheEntries = 10000

// ttlCache remembers values for ttl after they were fetched. It holds at
// most max entries: inserting a new key into a full cache empties it first,
// which keeps the cost of a flood of distinct keys bounded without tracking
// recency. A ttl of zero or less caches nothing.
type ttlCache[V any] struct {
	ttl time.Duration
	max int

	mu sync.Mutex
	m  map[string]cacheEntry[V]
}

type cacheEntry[V any] struct {
	v  V
	at time.Time // when v was fetched
}

func newTTLCache[V any](ttl time.Duration, max int) *ttlCache[V] {
	return &ttlCache[V]{ttl: ttl, max: max, m: make(map[string]cacheEntry[V])}
}

// get returns the value of key if it was fetched less than ttl before now.
// An entry from the future (the clock went back) counts as stale.
func (c *ttlCache[V]) get(key string, now time.Time) (V, bool) {
	var zero V
	if c.ttl <= 0 {
		return zero, false
	}
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if !ok || now.Before(e.at) || !now.Before(e.at.Add(c.ttl)) {
		return zero, false
	}
	return e.v, true
}

// put records v for key as fetched at now.
func (c *ttlCache[V]) put(key string, v V, now time.Time) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[key]; !ok && len(c.m) >= c.max {
		c.m = make(map[string]cacheEntry[V])
	}
	c.m[key] = cacheEntry[V]{v: v, at: now}
}

// len returns the number of entries, stale ones included.
func (c *ttlCache[V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
