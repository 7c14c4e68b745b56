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
// a loop, some of them 60 KB long, gets S_PRINCIPAL_UNKNOWN every time,
// valid requests interleaved with the flood all get their tickets, and the
// closest-name searches stay within the budget of each second. (What one
// search costs, whatever the name and the realm, is bounded and tested in
// kdc/db: TestSimilarBoundedWork.)
func TestUnknownServiceFloodScansBounded(t *testing.T) {
	k := newTestKDC(t)
	cdb := &countingDB{memDB: k.db}
	k.h.db = cdb
	tgt, part := k.tgt(t)
	const seconds, floodPerSecond = 3, 200
	for s := range seconds {
		k.now = t0.Add(time.Duration(s) * time.Second)
		for i := range floodPerSecond {
			service := "HTTP/unknown" + strings.Repeat("x", i)
			if i%10 == 0 {
				service = "host/" + strings.Repeat("a", 60<<10)
			}
			req := k.tgsReq(t, tgsReq{tgt: tgt, sessionKey: part.Key, service: service})
			if e := krbErrorCode(t, k.handle(req)); e.ErrorCode != 7 {
				t.Fatalf("second %d, request %d: error %d, want S_PRINCIPAL_UNKNOWN", s, i, e.ErrorCode)
			}
			if i%20 == 0 {
				valid := k.tgsReq(t, tgsReq{tgt: tgt, sessionKey: part.Key, service: "HTTP/web.example.com"})
				tgsReply(t, k.handle(valid), part.Key, 8)
			}
		}
	}
	if cdb.similar != seconds*similarPerSecond {
		t.Fatalf("%d closest-name searches for %d unknown names in %d seconds, want %d", cdb.similar, seconds*floodPerSecond, seconds, seconds*similarPerSecond)
	}
	if !strings.Contains(k.log.String(), "closest names not computed") {
		t.Fatal("the log does not say why suggestions stopped")
	}
	for _, line := range strings.Split(k.log.String(), "\n") {
		if len(line) > 2048 {
			t.Fatalf("a %d-byte log line: the 60 KB names are not clipped", len(line))
		}
	}
}
