package kcrypto

import (
	"sync"
)

// Cache keeps the derived keys of long-lived base keys (the krbtgt key,
// service keys, client keys), so that each is derived once rather than on
// every request. Entries are keyed by the base key's bytes, enctype and
// usage: a changed key (rekey, password change) is a different entry, so
// nothing has to be invalidated, and the old entry goes when the cache is
// next cleared. At most max entries are kept; when a new one would exceed
// that, the cache starts again empty (cheap, and derivation is only a few
// microseconds, so a realm with more keys than the bound loses little).
//
// Session keys do not belong here: each is used for a handful of requests.
type Cache struct {
	mu  sync.Mutex
	m   map[cacheKey]*Keys
	max int
}

type cacheKey struct {
	etype int32
	usage uint32
	key   [32]byte // AES keys are 16 or 32 bytes; etype tells which
}

// NewCache returns a cache of at most max entries.
func NewCache(max int) *Cache {
	return &Cache{m: make(map[cacheKey]*Keys), max: max}
}

// Get returns the keys derived from key for usage, deriving them on a miss.
func (c *Cache) Get(etype int32, key []byte, usage uint32) (*Keys, error) {
	if len(key) > 32 {
		return Derive(etype, key, usage) // reports the bad size
	}
	ck := cacheKey{etype: etype, usage: usage}
	copy(ck.key[:], key)
	c.mu.Lock()
	k, ok := c.m[ck]
	c.mu.Unlock()
	if ok {
		return k, nil
	}
	k, err := Derive(etype, key, usage)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[ck] = k
	c.mu.Unlock()
	return k, nil
}

// Len is the number of cached entries.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
