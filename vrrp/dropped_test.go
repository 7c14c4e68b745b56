package vrrp

import (
	"net/netip"
	"testing"
	"time"
)

// TestDropTrackerRateLimit: the first drop from a source warns, then at
// most one warning a minute per source, each with the count so far; the
// number of sources is bounded.
func TestDropTrackerRateLimit(t *testing.T) {
	var d dropTracker
	a, b := netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.3")
	steps := []struct {
		at    time.Duration
		src   netip.Addr
		warn  bool
		count uint64
	}{
		{0, a, true, 1},
		{time.Second, a, false, 2},
		{time.Second, b, true, 1},
		{59 * time.Second, a, false, 3},
		{60 * time.Second, a, true, 4},
		{61 * time.Second, b, true, 2},
		{119 * time.Second, a, false, 5},
		{120 * time.Second, a, true, 6},
	}
	for i, s := range steps {
		warn, count := d.record(t0.Add(s.at), ReasonAuthTypeMismatch, s.src)
		if warn != s.warn || count != s.count {
			t.Fatalf("step %d: warn %v count %d, want %v %d", i, warn, count, s.warn, s.count)
		}
	}
	got := d.snapshot()
	want := []DroppedAdverts{
		{ReasonAuthTypeMismatch, a, 6, t0.Add(120 * time.Second)},
		{ReasonAuthTypeMismatch, b, 2, t0.Add(61 * time.Second)},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("snapshot %+v, want %+v", got, want)
	}

	// Spoofed sources cannot grow it without bound.
	var full dropTracker
	for i := range maxWarnKeys + 10 {
		full.record(t0, ReasonAuthTypeMismatch, netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}))
	}
	if n := len(full.snapshot()); n != maxWarnKeys {
		t.Fatalf("%d sources tracked, want %d", n, maxWarnKeys)
	}
}
