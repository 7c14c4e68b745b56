package vrrp

import (
	"net/netip"
	"slices"
	"time"
)

// DroppedAdverts counts adverts for an instance's VRID that were dropped
// before the state machine saw them, from one source. A peer whose every
// advert is dropped is invisible: both nodes become MASTER, so status
// shows these.
type DroppedAdverts struct {
	// Reason is why they were dropped: "auth type mismatch" (a VRRPv2 peer
	// with authentication, such as keepalived's auth_type PASS).
	Reason string
	// Src is the sender's IP address.
	Src netip.Addr
	// Count is how many were dropped since the instance started.
	Count uint64
	// Last is when the latest was dropped.
	Last time.Time
}

// ReasonAuthTypeMismatch is the DroppedAdverts reason of a v2 advert with
// authentication (kdcha sends and accepts none).
const ReasonAuthTypeMismatch = "auth type mismatch"

// dropWarnEvery is how often, at most, a warning is logged per source while
// its adverts keep being dropped (an advert a second would flood the log).
const dropWarnEvery = time.Minute

// dropTracker counts dropped adverts per reason and source and decides when
// to warn: at the first from a source, then at most once per dropWarnEvery.
// Sources can be spoofed, so it tracks at most maxWarnKeys of them. It is
// not safe for concurrent use.
type dropTracker struct {
	entries []dropEntry
}

type dropEntry struct {
	DroppedAdverts
	warned time.Time
}

// record counts one dropped advert at now and reports whether to log it at
// warning level, with the source's count so far.
func (d *dropTracker) record(now time.Time, reason string, src netip.Addr) (warn bool, count uint64) {
	i := slices.IndexFunc(d.entries, func(e dropEntry) bool { return e.Reason == reason && e.Src == src })
	if i < 0 {
		if len(d.entries) >= maxWarnKeys {
			return false, 0
		}
		d.entries = append(d.entries, dropEntry{DroppedAdverts: DroppedAdverts{Reason: reason, Src: src}})
		i = len(d.entries) - 1
	}
	e := &d.entries[i]
	e.Count++
	e.Last = now
	if !e.warned.IsZero() && now.Sub(e.warned) < dropWarnEvery {
		return false, e.Count
	}
	e.warned = now
	return true, e.Count
}

// snapshot returns a copy of the counts, for Status.
func (d *dropTracker) snapshot() []DroppedAdverts {
	if len(d.entries) == 0 {
		return nil
	}
	out := make([]DroppedAdverts, len(d.entries))
	for i, e := range d.entries {
		out[i] = e.DroppedAdverts
	}
	return out
}
