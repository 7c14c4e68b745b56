package kdc

import (
	"sync"
	"time"

	"github.com/kdcha/kdcha/kdc/db"
)

// LockoutPolicy locks a principal that requires preauthentication after
// repeated preauthentication failures, as MIT's policy maxfailure /
// failurecountinterval do.
type LockoutPolicy struct {
	// MaxFailures is the number of failures within Window that locks the
	// principal; 0 disables lockout.
	MaxFailures int `yaml:"max_failures"`
	// Window is how long a failure counts. Default 10m.
	Window time.Duration `yaml:"window"`
	// Duration is how long a lock lasts; 0 means until an admin unlocks
	// (MIT's lockoutduration 0). The KDC compares it with the replicated
	// lock time, so expiry needs no write.
	Duration time.Duration `yaml:"duration"`
}

// locked reports whether p is locked out at now.
func (c *failureCounter) locked(p *db.Principal, now time.Time) bool {
	if !p.Locked {
		return false
	}
	if c == nil || c.policy.Duration <= 0 || p.LockedAt.IsZero() {
		return true
	}
	return now.Before(p.LockedAt.Add(c.policy.Duration))
}

// Locker replicates a lock: the only lockout write that goes through Raft.
// Lock must not block the request path (it is called from it).
type Locker interface {
	Lock(name string)
}

// failureCounter counts preauthentication failures per principal on this
// node only. Counting in memory, per node, is what MIT (per KDC), FreeIPA
// and AD (per DC) do: replicating every failed login would put a consensus
// write on the hot path and stop logins whenever quorum is lost. The price
// is that an attacker spreading guesses over N nodes gets N x MaxFailures
// attempts, as with MIT.
type failureCounter struct {
	policy LockoutPolicy
	locker Locker

	mu      sync.Mutex
	entries map[string]*failures
}

type failures struct {
	count int
	first time.Time
}

// maxTracked bounds the memory an attacker can make the counter use by
// failing logins for many names; entries past their window are dropped first.
const maxTracked = 100_000

func newFailureCounter(p LockoutPolicy, l Locker) *failureCounter {
	if p.Window <= 0 {
		p.Window = 10 * time.Minute
	}
	return &failureCounter{policy: p, locker: l, entries: map[string]*failures{}}
}

// failed records a failure for name at now and asks the Locker to lock it
// when the limit is reached within the window.
func (c *failureCounter) failed(name string, now time.Time) {
	if c == nil || c.policy.MaxFailures <= 0 {
		return
	}
	c.mu.Lock()
	f := c.entries[name]
	if f == nil || now.Sub(f.first) > c.policy.Window {
		if len(c.entries) >= maxTracked {
			c.evictLocked(now)
		}
		f = &failures{first: now}
		c.entries[name] = f
	}
	f.count++
	lock := f.count == c.policy.MaxFailures
	if lock {
		delete(c.entries, name)
	}
	c.mu.Unlock()
	if lock {
		c.locker.Lock(name)
	}
}

// succeeded clears name's failures after a successful preauthentication.
func (c *failureCounter) succeeded(name string) {
	if c == nil || c.policy.MaxFailures <= 0 {
		return
	}
	c.mu.Lock()
	delete(c.entries, name)
	c.mu.Unlock()
}

// evictLocked drops expired entries, then arbitrary ones until a tenth of
// the room is free, so that the map stays bounded and one scan of it pays
// for many failures (were a few entries to expire between failures, each
// failure would otherwise scan the whole map).
func (c *failureCounter) evictLocked(now time.Time) {
	for name, f := range c.entries {
		if now.Sub(f.first) > c.policy.Window {
			delete(c.entries, name)
		}
	}
	for name := range c.entries {
		if len(c.entries) <= maxTracked*9/10 {
			break
		}
		delete(c.entries, name)
	}
}
