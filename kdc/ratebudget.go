package kdc

import (
	"sync"
	"time"
)

// similarPerSecond is how many "closest names" searches the KDC does per
// second; an operator needs the first few log lines of a misconfigured
// client, not thousands.
const similarPerSecond = 10

// rateBudget allows up to similarPerSecond events per wall-clock second.
// Its zero value is ready to use.
type rateBudget struct {
	mu     sync.Mutex
	second int64
	used   int
}

// take reports whether one more event fits in now's second.
func (b *rateBudget) take(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if s := now.Unix(); s != b.second {
		b.second, b.used = s, 0
	}
	if b.used >= similarPerSecond {
		return false
	}
	b.used++
	return true
}
