package vrrp

import (
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/kdcha/kdcha/internal/netnstest"
	"github.com/prometheus/client_golang/prometheus"
)

// tlog writes slog output to the test log.
type tlog struct{ t testing.TB }

func (w tlog) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tlog{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// runningNode is a kdcha instance running inside a namespace.
type runningNode struct {
	ns     netnstest.Node
	inst   *Instance
	cancel context.CancelFunc
	errc   chan error
}

func startInstance(t *testing.T, n netnstest.Node, cfg InstanceConfig) *runningNode {
	return startInstanceWithMetrics(t, n, cfg, nil)
}

func startInstanceWithMetrics(t *testing.T, n netnstest.Node, cfg InstanceConfig, metrics *Metrics) *runningNode {
	t.Helper()
	r := &runningNode{ns: n, errc: make(chan error, 1)}
	if err := n.Do(func() (err error) {
		r.inst, err = Open(cfg, InstanceDeps{Log: testLogger(t).With("node", n.Addr.Addr()), Metrics: metrics})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.errc <- r.inst.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop shuts the instance down gracefully; calling it again is harmless.
func (r *runningNode) stop(t *testing.T) {
	t.Helper()
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.errc:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("instance did not stop within 5s")
	}
}

// waitState polls until the instance is in state or the timeout passes and
// returns how long it took.
func waitState(t *testing.T, r *runningNode, want State, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < timeout {
		if r.inst.Status().State == want {
			return time.Since(start)
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("node %v: state %v after %v, want %v", r.ns.Addr.Addr(), r.inst.Status().State, timeout, want)
	return 0
}

func hasAddr(t *testing.T, n netnstest.Node, a netip.Addr) bool {
	t.Helper()
	return strings.Contains(n.IP(t, "addr", "show", "dev", n.Interface), " "+a.String()+"/")
}

func testInstanceConfig(name string, prio int) InstanceConfig {
	c := DefaultInstanceConfig()
	c.Name, c.Interface, c.VRID, c.Priority = name, "eth0", 51, prio
	c.Version, c.AdvertInterval = 3, 100*time.Millisecond
	c.VirtualIPAddresses = []string{"192.0.2.100/24"}
	c.GARPMasterRepeat, c.GARPMasterDelay = 2, 0
	return c
}

// TestInstancesFailoverInNamespaces runs two kdcha nodes on a bridge and
// checks election, VIP restoration, graceful handover, preemption, link
// loss with and without interface tracking, and split-brain healing, with
// the VIP following the master.
func TestInstancesFailoverInNamespaces(t *testing.T) {
	lan := netnstest.NewLAN(t, 2)
	vipAddr := netip.MustParseAddr("192.0.2.100")
	cfgA, cfgB := testInstanceConfig("A", 150), testInstanceConfig("B", 100)

	a := startInstance(t, lan[0], cfgA)
	b := startInstance(t, lan[1], cfgB)
	waitState(t, a, StateMaster, 3*time.Second)
	waitState(t, b, StateBackup, time.Second)
	assertVIPOn(t, vipAddr, lan[0], lan[1])

	// Someone deletes the VIP on the master: it comes back.
	lan[0].IP(t, "addr", "del", "192.0.2.100/24", "dev", lan[0].Interface)
	took := waitVIP(t, lan[0], vipAddr, true, 2*time.Second)
	t.Logf("VIP deleted on the master restored after %v", took)

	// Graceful stop: priority 0, so B takes over after its skew only
	// (156 x 100 ms / 256 = 61 ms).
	a.stop(t)
	took = waitState(t, b, StateMaster, 3*time.Second)
	t.Logf("graceful handover took %v", took)
	if took > time.Second {
		t.Errorf("graceful handover took %v, want well under the 361 ms master down interval", took)
	}
	assertVIPOn(t, vipAddr, lan[1], lan[0])

	// A comes back with the higher priority and preempts.
	a = startInstance(t, lan[0], cfgA)
	waitState(t, a, StateMaster, 3*time.Second)
	waitState(t, b, StateBackup, time.Second)
	assertVIPOn(t, vipAddr, lan[0], lan[1])

	// A's link fails: A goes FAULT and releases the VIP (keepalived's
	// default interface tracking); B hears nothing and takes over after the
	// master down interval, 3 x 100 ms + 61 ms.
	lan[0].IP(t, "link", "set", lan[0].Interface, "down")
	waitState(t, a, StateFault, 3*time.Second)
	took = waitState(t, b, StateMaster, 3*time.Second)
	t.Logf("takeover after master link loss took %v", took)
	waitVIP(t, lan[0], vipAddr, false, time.Second) // A in FAULT released it
	// The link returns: A leaves FAULT and preempts B.
	lan[0].IP(t, "link", "set", lan[0].Interface, "up")
	waitState(t, a, StateMaster, 3*time.Second)
	waitState(t, b, StateBackup, time.Second)
	assertVIPOn(t, vipAddr, lan[0], lan[1])

	// Without interface tracking, a cut-off master cannot know and stays
	// MASTER: split brain. When the link returns, B hears the higher
	// priority and yields, and A re-asserts.
	a.stop(t)
	waitState(t, b, StateMaster, 3*time.Second)
	cfgA.DontTrackPrimary = true
	reg := prometheus.NewRegistry()
	metrics, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	a = startInstanceWithMetrics(t, lan[0], cfgA, metrics)
	waitState(t, a, StateMaster, 3*time.Second)
	waitState(t, b, StateBackup, time.Second)
	lan[0].IP(t, "link", "set", lan[0].Interface, "down")
	waitState(t, b, StateMaster, 3*time.Second)
	if a.inst.Status().State != StateMaster {
		t.Errorf("untracked A, cut off, is %v; want MASTER", a.inst.Status().State)
	}
	lan[0].IP(t, "link", "set", lan[0].Interface, "up")
	waitState(t, b, StateBackup, 3*time.Second)
	if a.inst.Status().State != StateMaster {
		t.Errorf("after healing A is %v, want MASTER", a.inst.Status().State)
	}
	assertVIPOn(t, vipAddr, lan[0], lan[1])
	// A heard B as a second master and re-announced the VIP: the initial
	// burst when it took over, then at least one on the conflict.
	labels := map[string]string{"instance": "A"}
	if v := metricValue(t, reg, "kdcha_vrrp_master_conflicts_total", labels); v < 1 {
		t.Errorf("kdcha_vrrp_master_conflicts_total = %v, want >= 1", v)
	}
	if v := metricValue(t, reg, "kdcha_vrrp_announcements_total", labels); v < 2 {
		t.Errorf("kdcha_vrrp_announcements_total = %v, want >= 2", v)
	}
}

// assertVIPOn checks that exactly the master's namespace holds the VIP,
// allowing a moment for the actions that follow a state change.
func assertVIPOn(t *testing.T, vipAddr netip.Addr, master, backup netnstest.Node) {
	t.Helper()
	waitVIP(t, master, vipAddr, true, time.Second)
	waitVIP(t, backup, vipAddr, false, time.Second)
}
