package kdc

import (
	"fmt"
	"time"
)

// DefaultStallThreshold is how long a listener may hold requests without
// completing any before it counts as stalled. A request takes 30-150 us of
// CPU (BenchmarkASPreauth, BenchmarkTGS); what legitimately delays
// completions is scheduling: a Go GC pause (under 1 ms), a CFS time slice
// on an overloaded host (a runnable thread waits tens of ms at load 9 on 2
// cores), a 10 ms Go preemption tick. 250 ms is ten times the worst of
// those, so a saturated KDC that still completes requests is never taken
// for a hung one, and short enough that detection (threshold + one check
// interval) stays well inside issue 9's sub-second target for a hang.
const DefaultStallThreshold = 250 * time.Millisecond

// Stall is a StallDetector's verdict on one snapshot.
type Stall struct {
	// Stalled is set when some listener has had requests in flight and
	// completed none for at least the threshold.
	Stalled bool
	// Listener names the listener that has gone longest without
	// completing a pending request ("udp 127.0.0.1:88"); empty when every
	// listener is idle or progressing.
	Listener string
	// InFlight is that listener's requests in flight.
	InFlight int
	// For is how long that listener has had work pending and completed
	// nothing.
	For time.Duration
}

// String describes the verdict for logs and health reasons.
func (s Stall) String() string {
	if s.Listener == "" {
		return "kdc request handling progressing"
	}
	verb := "pending"
	if s.Stalled {
		verb = "stalled"
	}
	return fmt.Sprintf("kdc %s: %d request(s) in flight, none completed for %s (%s)", s.Listener, s.InFlight, s.For.Round(time.Millisecond), verb)
}

// StallDetector decides whether request handling is stalled from
// successive Progress snapshots, as a pure function of them (time is
// Progress.At): stalled means a listener has work pending and has completed
// nothing for at least Threshold. A busy KDC that keeps completing requests
// is never stalled, even at 100% CPU; an idle one never is either. Not
// safe for concurrent use.
type StallDetector struct {
	// Threshold is the longest a listener may hold requests without
	// completing one. Zero means DefaultStallThreshold.
	Threshold time.Duration

	// since holds, per listener, its completed count and the first
	// snapshot time that count was seen: no completion happened after it.
	since []stallMark
}

type stallMark struct {
	completed uint64
	at        time.Time
}

// Observe feeds one snapshot and returns the verdict. Snapshots must come
// from one Server, in order.
func (d *StallDetector) Observe(p Progress) Stall {
	threshold := d.Threshold
	if threshold <= 0 {
		threshold = DefaultStallThreshold
	}
	if len(d.since) != len(p.Listeners) {
		d.since = make([]stallMark, len(p.Listeners))
		for i, l := range p.Listeners {
			d.since[i] = stallMark{completed: l.Completed, at: p.At}
		}
	}
	var worst Stall
	for i, l := range p.Listeners {
		m := &d.since[i]
		if l.Completed != m.completed {
			*m = stallMark{completed: l.Completed, at: p.At}
		}
		if l.InFlight == 0 {
			continue
		}
		// Nothing completed since m.at, so the in-flight count only grew
		// since then: the oldest request in flight has been pending (and
		// nothing completed) since it started or since m.at, whichever is
		// later.
		from := m.at
		if l.OldestStart.After(from) {
			from = l.OldestStart
		}
		// (A request that started after At, while the snapshot was taken,
		// counts as just started.)
		if stalled := max(0, p.At.Sub(from)); worst.Listener == "" || stalled > worst.For {
			worst = Stall{Listener: l.Transport + " " + l.Addr, InFlight: l.InFlight, For: stalled}
		}
	}
	worst.Stalled = worst.Listener != "" && worst.For >= threshold
	return worst
}
