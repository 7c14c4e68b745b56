package kdc

import (
	"strings"
	"testing"
	"time"
)

func TestRateBudget(t *testing.T) {
	b := rateBudget{limit: 3}
	for i := range 3 {
		if ok, _ := b.take(t0.Add(time.Duration(i) * time.Millisecond)); !ok {
			t.Fatalf("event %d refused within the budget", i)
		}
	}
	for range 2 {
		if ok, _ := b.take(t0.Add(900 * time.Millisecond)); ok {
			t.Fatal("event past the budget allowed in the same second")
		}
	}
	if ok, refused := b.take(t0.Add(time.Second)); !ok || refused != 2 {
		t.Fatalf("next second: ok=%v, refusedBefore=%d; want true, 2", ok, refused)
	}
	if _, refused := b.take(t0.Add(2 * time.Second)); refused != 0 {
		t.Fatalf("refusals reported again: %d", refused)
	}
}

// countingDB counts Similar calls, the index scans an unknown name costs.
type countingDB struct {
	*memDB
	similar int
}

func (c *countingDB) Similar(name string, n int) []string {
	c.similar++
	return c.memDB.Similar(name, n)
}

// TestUnknownServiceFloodScansBounded: a client asking for unknown names in
// a loop gets S_PRINCIPAL_UNKNOWN every time, but the closest-name scans
// stay within the budget.
func TestUnknownServiceFloodScansBounded(t *testing.T) {
	k := newTestKDC(t)
	cdb := &countingDB{memDB: k.db}
	k.h.db = cdb
	tgt, part := k.tgt(t)
	for i := range 50 {
		req := k.tgsReq(t, tgsReq{tgt: tgt, sessionKey: part.Key, service: "HTTP/unknown" + strings.Repeat("x", i)})
		if e := krbErrorCode(t, k.handle(req)); e.ErrorCode != 7 {
			t.Fatalf("request %d: error %d, want S_PRINCIPAL_UNKNOWN", i, e.ErrorCode)
		}
	}
	if cdb.similar != similarPerSecond {
		t.Fatalf("%d closest-name scans for 50 unknown names in one second, want %d", cdb.similar, similarPerSecond)
	}
	if !strings.Contains(k.log.String(), "closest names not computed") {
		t.Fatal("the log does not say why suggestions stopped")
	}
}
