package kdc

import (
	"sync"
	"sync/atomic"
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

// PolicySource is implemented by readers that hold password policies
// (db.DB): the lockout parameters of the policy governing a principal
// (MIT's maxfailure, failurecountinterval, lockoutduration), when it sets
// maxfailure, override the realm's lockout (the replicated realm settings,
// or the configured LockoutPolicy until the realm has some) for that
// principal.
// It is consulted only for a failed preauthentication or a locked
// principal, never on the path of a successful login.
type PolicySource interface {
	PolicyOf(p *db.Principal) db.PasswordPolicy
}

var _ PolicySource = (*db.DB)(nil)

// paramsFor returns the lockout parameters that apply to p.
func (c *failureCounter) paramsFor(p *db.Principal) LockoutPolicy {
	if c.policies == nil {
		return c.realmLockout()
	}
	pol := c.policies.PolicyOf(p)
	if pol.MaxFailures <= 0 {
		return c.realmLockout()
	}
	return LockoutPolicy{MaxFailures: pol.MaxFailures, Window: pol.FailureInterval, Duration: pol.LockoutDuration}.withDefaults()
}

// defaultLockoutWindow is how long a failure counts when neither the
// configuration nor the policy says: the realm settings' default.
var defaultLockoutWindow = db.DefaultRealmSettings.LockoutWindow

// withDefaults is p with an unset window at defaultLockoutWindow.
func (p LockoutPolicy) withDefaults() LockoutPolicy {
	if p.Window <= 0 {
		p.Window = defaultLockoutWindow
	}
	return p
}

// locked reports whether p is locked out at now.
func (c *failureCounter) locked(p *db.Principal, now time.Time) bool {
	if !p.Locked {
		return false
	}
	if c == nil || p.LockedAt.IsZero() {
		return true
	}
	d := c.paramsFor(p).Duration
	return d <= 0 || now.Before(p.LockedAt.Add(d))
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
	policy   LockoutPolicy
	locker   Locker
	policies PolicySource // nil: the configured policy for everyone
	// settings, when set, replaces policy once the realm has settings.
	settings SettingsSource

	mu      sync.Mutex
	entries map[string]*failures
	// tracked is len(entries), readable without mu.
	tracked atomic.Int64
}

type failures struct {
	count  int
	first  time.Time
	window time.Duration
}

// maxTracked bounds the memory an attacker can make the counter use by
// failing logins for many names; entries past their window are dropped first.
const maxTracked = 100_000

func newFailureCounter(p LockoutPolicy, l Locker) *failureCounter {
	return &failureCounter{policy: p.withDefaults(), locker: l, entries: map[string]*failures{}}
}

// failed records a failure for p at now and asks the Locker to lock it
// when the limit is reached within the window.
func (c *failureCounter) failed(p *db.Principal, now time.Time) {
	if c == nil {
		return
	}
	lp := c.paramsFor(p)
	if lp.MaxFailures <= 0 {
		return
	}
	name := p.Name
	c.mu.Lock()
	f := c.entries[name]
	if f == nil || now.Sub(f.first) > f.window {
		if len(c.entries) >= maxTracked {
			c.evictLocked(now)
		}
		f = &failures{first: now, window: lp.Window}
		c.entries[name] = f
	}
	f.count++
	lock := f.count >= lp.MaxFailures
	if lock {
		delete(c.entries, name)
	}
	c.tracked.Store(int64(len(c.entries)))
	c.mu.Unlock()
	if lock {
		c.locker.Lock(name)
	}
}

// succeeded clears name's failures after a successful preauthentication.
func (c *failureCounter) succeeded(name string) {
	if c == nil || c.tracked.Load() == 0 {
		// Nobody is failing: a successful login takes no lock.
		return
	}
	c.mu.Lock()
	delete(c.entries, name)
	c.tracked.Store(int64(len(c.entries)))
	c.mu.Unlock()
}

// evictLocked drops expired entries, then arbitrary ones until a tenth of
// the room is free, so that the map stays bounded and one scan of it pays
// for many failures (were a few entries to expire between failures, each
// failure would otherwise scan the whole map).
func (c *failureCounter) evictLocked(now time.Time) {
	for name, f := range c.entries {
		if now.Sub(f.first) > f.window {
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
