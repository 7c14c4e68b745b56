package vrrp

import (
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/kdcha/kdcha/internal/netnstest"
)

// vipChange is one address event for the VIP seen in a node's namespace.
type vipChange struct {
	at   time.Time
	node int
	add  bool
}

// vipTimeline records, from netlink address events, when the VIP appears
// and disappears on each node.
type vipTimeline struct {
	mu      sync.Mutex
	changes []vipChange
}

func watchVIP(t *testing.T, nodes []netnstest.Node, vipAddr netip.Addr) *vipTimeline {
	t.Helper()
	tl := &vipTimeline{}
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	for i, n := range nodes {
		ns, err := netns.GetFromName(n.Name())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ns.Close() })
		ch := make(chan netlink.AddrUpdate, 256)
		if err := netlink.AddrSubscribeWithOptions(ch, done, netlink.AddrSubscribeOptions{Namespace: &ns}); err != nil {
			t.Fatal(err)
		}
		go func() {
			for u := range ch {
				if a, ok := netip.AddrFromSlice(u.LinkAddress.IP); ok && a.Unmap() == vipAddr {
					tl.mu.Lock()
					tl.changes = append(tl.changes, vipChange{time.Now(), i, u.NewAddr})
					tl.mu.Unlock()
				}
			}
		}()
	}
	return tl
}

// waitFor returns the first change since index from that matches, waiting
// up to timeout.
func (tl *vipTimeline) waitFor(t *testing.T, from int, node int, add bool, timeout time.Duration) vipChange {
	t.Helper()
	for start := time.Now(); time.Since(start) < timeout; time.Sleep(time.Millisecond) {
		tl.mu.Lock()
		for _, c := range tl.changes[min(from, len(tl.changes)):] {
			if c.node == node && c.add == add {
				tl.mu.Unlock()
				return c
			}
		}
		tl.mu.Unlock()
	}
	t.Fatalf("node %d: VIP add=%v not seen within %v", node, add, timeout)
	return vipChange{}
}

func (tl *vipTimeline) len() int {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return len(tl.changes)
}

// TestGracefulHandoverInNamespaces: a master (150) and two backups (100,
// 50), v3 100 ms. Three times, the master stops gracefully: it resigns but
// keeps the VIP until the successor has added it, so the VIP is never on
// no node (before: removed at once, on no node for the successor's wait,
// ~61 ms here and 0.69 s with the 1 s default), and Run returns only
// then. The successor is always the priority-100 backup, never the
// priority-50 one; then the master restarts and preempts back after its
// startup hold.
func TestGracefulHandoverInNamespaces(t *testing.T) {
	t.Parallel()
	lan := netnstest.NewLAN(t, 3)
	vipAddr := netip.MustParseAddr("192.0.2.100")
	cfgA, cfgB, cfgC := testInstanceConfig("A", 150), testInstanceConfig("B", 100), testInstanceConfig("C", 50)
	b := startInstance(t, lan[1], cfgB)
	c := startInstance(t, lan[2], cfgC)
	a := startInstance(t, lan[0], cfgA)
	waitState(t, a, StateMaster, 3*time.Second)
	tl := watchVIP(t, lan, vipAddr)
	for round := range 3 {
		waitState(t, b, StateBackup, time.Second)
		waitState(t, c, StateBackup, time.Second)
		from := tl.len()
		start := time.Now()
		a.stop(t) // returns when Run has
		stopped := time.Now()
		added := tl.waitFor(t, from, 1, true, 2*time.Second)
		removed := tl.waitFor(t, from, 0, false, 2*time.Second)
		gap := removed.at.Sub(added.at) // > 0: both held it for that long
		t.Logf("round %d: B added the VIP %v after the stop, A removed it %v later; Run returned after %v",
			round, added.at.Sub(start).Round(100*time.Microsecond), gap.Round(10*time.Microsecond), stopped.Sub(start).Round(100*time.Microsecond))
		// Both events are stamped by this process after netlink delivers
		// them, so allow a little delivery jitter.
		if gap < -3*time.Millisecond {
			t.Errorf("round %d: VIP on no node for %v during the handover", round, -gap)
		}
		if stopped.Before(removed.at.Add(-3 * time.Millisecond)) {
			t.Errorf("round %d: Run returned %v before the VIP was removed", round, removed.at.Sub(stopped))
		}
		waitState(t, b, StateMaster, time.Second)
		if st := c.inst.Status().State; st != StateBackup {
			t.Errorf("round %d: C (priority 50) is %v, want BACKUP: the best backup must claim first", round, st)
		}
		tl.mu.Lock()
		for _, ch := range tl.changes[from:] {
			if ch.node == 2 {
				t.Errorf("round %d: the VIP went to C (priority 50)", round)
			}
		}
		tl.mu.Unlock()

		// A comes back and, after its startup hold, preempts.
		from = tl.len()
		a = startInstance(t, lan[0], cfgA)
		waitState(t, a, StateMaster, 3*time.Second)
		added = tl.waitFor(t, from, 0, true, 2*time.Second)
		removed = tl.waitFor(t, from, 1, false, 2*time.Second)
		if gap := removed.at.Sub(added.at); gap < -3*time.Millisecond {
			t.Errorf("round %d: preemption left the VIP on no node for %v", round, -gap)
		}
	}
	if hasAddr(t, lan[2], vipAddr) {
		t.Error("C holds the VIP")
	}
}
