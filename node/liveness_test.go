package node

import (
	"testing"
	"time"

	"github.com/kdcha/kdcha/health"
	"github.com/kdcha/kdcha/internal/readiness"
)

// TestHeartbeatLifetime: a loop counts for liveness only between start
// and stop; while it runs, a silence longer than its budget makes the node
// not alive (systemd's watchdog ping is then withheld) and a beat makes it
// alive again. Time is a fake clock.
func TestHeartbeatLifetime(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	set := readiness.New(readiness.Options{Now: func() time.Time { return now }})
	b := &heartbeat{set: set, name: "vrrp:VI_KDC", budget: loopBudget}

	b.Beat() // before start: not declared, nothing to prove
	now = now.Add(time.Hour)
	if r := set.Report(); !r.Alive || len(r.Loops) != 0 {
		t.Fatalf("before start: %+v", r)
	}
	b.start()
	now = now.Add(loopBudget)
	if !set.Alive() {
		t.Fatal("not alive within the budget after start")
	}
	now = now.Add(time.Millisecond)
	if r := set.Report(); r.Alive || r.Summary() != "stalled: vrrp:VI_KDC" {
		t.Fatalf("silent past the budget: alive=%v %q", r.Alive, r.Summary())
	}
	b.Beat()
	if !set.Alive() {
		t.Fatal("not alive right after a beat")
	}
	now = now.Add(2 * loopBudget)
	b.stop()
	if r := set.Report(); !r.Alive || len(r.Loops) != 0 {
		t.Fatalf("after stop: %+v", r)
	}
	b.Beat() // a late beat after stop declares nothing
	if r := set.Report(); len(r.Loops) != 0 {
		t.Fatalf("a beat after stop: %+v", r)
	}

	// Without a Set (kdcha dev, tests) it does nothing.
	none := &heartbeat{name: "x", budget: time.Second}
	none.start()
	none.Beat()
	none.stop()
}

func TestHealthBudget(t *testing.T) {
	for _, tt := range []struct {
		interval, timeout, want time.Duration
	}{
		{100 * time.Millisecond, 50 * time.Millisecond, loopBudget}, // kdc-progress: the floor
		{500 * time.Millisecond, 500 * time.Millisecond, loopBudget},
		{5 * time.Second, 10 * time.Second, 30 * time.Second}, // a slow script: two runs' worth
	} {
		if got := healthBudget(health.Check{Interval: tt.interval, Timeout: tt.timeout}); got != tt.want {
			t.Errorf("healthBudget(%v, %v) = %v, want %v", tt.interval, tt.timeout, got, tt.want)
		}
	}
}
