package scenario

import (
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// VIPWatch records, from netlink in one namespace, when an address was
// added to or removed from any of its interfaces: the kernel's own
// timestamps of a VIP move, without polling.
type VIPWatch struct {
	node string
	mu   sync.Mutex
	ev   []VIPEvent
	done chan struct{}
	fin  chan struct{}
}

// WatchVIP starts recording additions and removals of vip in namespace ns,
// labelling events with node; Close stops it.
func WatchVIP(ns, node string, vip netip.Addr) (*VIPWatch, error) {
	h, err := netns.GetFromName(ns)
	if err != nil {
		return nil, fmt.Errorf("open namespace %s: %w", ns, err)
	}
	defer h.Close()
	updates := make(chan netlink.AddrUpdate, 64)
	w := &VIPWatch{node: node, done: make(chan struct{}), fin: make(chan struct{})}
	if err := netlink.AddrSubscribeWithOptions(updates, w.done, netlink.AddrSubscribeOptions{Namespace: &h}); err != nil {
		return nil, fmt.Errorf("netlink subscribe in %s: %w", ns, err)
	}
	go func() {
		defer close(w.fin)
		for u := range updates {
			now := time.Now()
			if a, ok := netip.AddrFromSlice(u.LinkAddress.IP); ok && a.Unmap() == vip {
				w.mu.Lock()
				w.ev = append(w.ev, VIPEvent{Node: node, At: now, Added: u.NewAddr})
				w.mu.Unlock()
			}
		}
	}()
	return w, nil
}

// Events returns what was recorded so far.
func (w *VIPWatch) Events() []VIPEvent {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.ev)
}

// FirstAddAfter waits until the VIP has been added at or after t0 and
// returns when.
func (w *VIPWatch) FirstAddAfter(t0 time.Time, timeout time.Duration) (time.Time, bool) {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		for _, e := range w.Events() {
			if e.Added && !e.At.Before(t0) {
				return e.At, true
			}
		}
	}
	return time.Time{}, false
}

// Close stops the watch and waits (bounded) for its reader to end.
func (w *VIPWatch) Close() {
	close(w.done)
	select { // the library closes updates once its socket is done
	case <-w.fin:
	case <-time.After(2 * time.Second):
	}
}
