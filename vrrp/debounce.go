package vrrp

import (
	"sync"
	"time"
)

// linkDebouncer delays link state reports, like keepalived's
// interface_up_down_delays: a change is reported only once the link has
// stayed in its new state for the delay, so a flapping cable or switch port
// does not move the VIP back and forth. A change back before the delay
// expires cancels the pending report.
type linkDebouncer struct {
	downDelay, upDelay time.Duration
	report             func(up bool)
	// afterFunc is time.AfterFunc in the product; tests fire timers by hand.
	afterFunc func(time.Duration, func()) interface{ Stop() bool }

	mu       sync.Mutex
	pending  interface{ Stop() bool }
	seq      uint64 // invalidates a timer that fired while being replaced
	known    bool
	reported bool
}

func newLinkDebouncer(down, up time.Duration, report func(up bool)) *linkDebouncer {
	return &linkDebouncer{downDelay: down, upDelay: up, report: report,
		afterFunc: func(d time.Duration, f func()) interface{ Stop() bool } { return time.AfterFunc(d, f) }}
}

// changed takes the link state from the watcher (once at the start, then at
// every change).
func (d *linkDebouncer) changed(up bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.pending != nil {
		d.pending.Stop()
		d.pending = nil
	}
	d.seq++
	if d.known && d.reported == up {
		return // back to the reported state within the delay: nothing happened
	}
	delay := d.downDelay
	if up {
		delay = d.upDelay
	}
	if !d.known || delay <= 0 {
		// The first state is reported at once: it is not a change.
		d.known, d.reported = true, up
		d.report(up)
		return
	}
	seq := d.seq
	d.pending = d.afterFunc(delay, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		if seq != d.seq {
			return
		}
		d.pending = nil
		d.reported = up
		d.report(up)
	})
}
