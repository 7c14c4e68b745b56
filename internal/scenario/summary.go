package scenario

import (
	"slices"
	"time"
)

// Attempt is one kinit through the VIP.
type Attempt struct {
	// Loop is the client loop that ran it.
	Loop int
	// Start and End bound the kinit process's life.
	Start, End time.Time
	// OK is true when kinit got a ticket.
	OK bool
}

// VIPEvent is the VIP appearing on (Added) or leaving a node, as netlink
// reported it in that node's namespace.
type VIPEvent struct {
	Node  string
	At    time.Time
	Added bool
}

// Summary is what clients and operators saw of one fault.
type Summary struct {
	// TookOver is the node the VIP was first added to after the fault,
	// "" if it did not move.
	TookOver string
	// VIPMove is from the fault to that addition (0 if it did not move).
	VIPMove time.Duration
	// Moves counts additions of the VIP to a node other than the one that
	// last had it, after the fault.
	Moves int
	// Outage is the longest gap between the ends of two consecutive
	// successful kinits, from the last one before the fault to the last
	// one in the window, or to the window's end when kinits started after
	// the last success failed (none succeeded after the fault, or the
	// service went away again: a late flap).
	Outage time.Duration
	// Attempts and Failed count kinits started in the window.
	Attempts, Failed int
	// Slowest is the longest attempt started in the window.
	Slowest time.Duration
}

// Summarize computes the figures of the fault at t0 from what was recorded
// until end; holder is the node holding the VIP at t0. Attempts and events
// outside [t0, end] are ignored, except that the last success before t0
// opens the first gap.
func Summarize(t0, end time.Time, holder string, attempts []Attempt, events []VIPEvent) Summary {
	var s Summary
	ev := slices.Clone(events)
	slices.SortFunc(ev, func(a, b VIPEvent) int { return a.At.Compare(b.At) })
	last := holder
	for _, e := range ev {
		if !e.Added || e.At.Before(t0) || e.At.After(end) || e.Node == last {
			continue
		}
		if s.Moves == 0 {
			s.TookOver, s.VIPMove = e.Node, e.At.Sub(t0)
		}
		s.Moves++
		last = e.Node
	}

	// The gap open at t0 started with the last success before it (t0 if
	// there was none in the record).
	prev := t0
	var ends []time.Time
	for _, a := range attempts {
		switch {
		case !a.OK || a.End.After(end):
		case a.End.After(t0):
			ends = append(ends, a.End)
		case prev.Equal(t0) || a.End.After(prev):
			prev = a.End
		}
		if a.Start.Before(t0) || a.Start.After(end) {
			continue
		}
		s.Attempts++
		if !a.OK {
			s.Failed++
		}
		s.Slowest = max(s.Slowest, a.End.Sub(a.Start))
	}
	slices.SortFunc(ends, func(a, b time.Time) int { return a.Compare(b) })
	for _, e := range ends {
		s.Outage = max(s.Outage, e.Sub(prev))
		prev = e
	}
	for _, a := range attempts {
		if !a.OK && a.Start.After(prev) && !a.Start.After(end) {
			// Failing since the last success: the gap is still open at
			// the window's end.
			s.Outage = max(s.Outage, end.Sub(prev))
			break
		}
	}
	return s
}
