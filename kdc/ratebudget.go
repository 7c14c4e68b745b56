package kdc

import (
	"sync"
	"time"
)

// Per-second budgets of the Handler. An operator needs the first lines of
// a misconfigured client or a flood, not thousands per second; the metrics
// count everything.
const (
	// similarPerSecond is how many "closest names" searches the KDC does
	// per second.
	similarPerSecond = 10
	// warnPerSecond is how many per-request WARN lines the KDC writes per
	// second.
	warnPerSecond = 20
)

// rateBudget allows up to limit events per second of the time it is given
// (the Handler's clock).
type rateBudget struct {
	limit int

	mu      sync.Mutex
	second  int64
	used    int
	refused int
}

// take reports whether one more event fits in now's second. When now
// starts a new second, it also returns how many events the previous budget
// refused, once, so that the caller can say so.
func (b *rateBudget) take(now time.Time) (ok bool, refusedBefore int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if s := now.Unix(); s != b.second {
		refusedBefore = b.refused
		b.second, b.used, b.refused = s, 0, 0
	}
	if b.used >= b.limit {
		b.refused++
		return false, refusedBefore
	}
	b.used++
	return true, refusedBefore
}
