package vrrp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// fakeTransport is an in-memory Transport: tests push received packets and
// read what was sent.
type fakeTransport struct {
	in     chan any // Received or error
	sent   chan sentAdvert
	closed chan struct{}
	once   sync.Once
}

type sentAdvert struct {
	p        Packet
	src, dst netip.Addr
}

func newFakeTransport() *fakeTransport {
	return &fakeTransport{in: make(chan any, 16), sent: make(chan sentAdvert, 1024), closed: make(chan struct{})}
}

func (f *fakeTransport) Send(p Packet, src, dst netip.Addr) error {
	select {
	case f.sent <- sentAdvert{p, src, dst}:
		return nil
	default:
		return errors.New("fake transport: send queue full")
	}
}

func (f *fakeTransport) Receive() (Received, error) {
	select {
	case v := <-f.in:
		if err, ok := v.(error); ok {
			return Received{}, err
		}
		return v.(Received), nil
	case <-f.closed:
		return Received{}, net.ErrClosed
	}
}

func (f *fakeTransport) Close() error {
	f.once.Do(func() { close(f.closed) })
	return nil
}

// fakeAddrs records the calls an Instance makes on its Addresses.
type fakeAddrs struct {
	mu    sync.Mutex
	calls []string
}

func (f *fakeAddrs) record(s string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
	return nil
}

func (f *fakeAddrs) Add() error               { return f.record("add") }
func (f *fakeAddrs) Remove() error            { return f.record("remove") }
func (f *fakeAddrs) Announce(count int) error { return f.record(fmt.Sprintf("announce %d", count)) }

func (f *fakeAddrs) get() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// waitFor polls cond every millisecond for up to 2 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for start := time.Now(); time.Since(start) < 2*time.Second; time.Sleep(time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// metricValue returns the value of the metric name with the given label
// values (in label order), or -1 when absent.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if labels[lp.GetName()] != lp.GetValue() {
					continue next
				}
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return -1
}

type fakeInstance struct {
	inst   *Instance
	tr     *fakeTransport
	addrs  *fakeAddrs
	reg    *prometheus.Registry
	events chan InstanceEvent
	cancel context.CancelFunc
	errc   chan error
}

func startFakeInstance(t *testing.T, cfg InstanceConfig) *fakeInstance {
	t.Helper()
	f := &fakeInstance{tr: newFakeTransport(), addrs: &fakeAddrs{}, reg: prometheus.NewRegistry(),
		events: make(chan InstanceEvent, 64), errc: make(chan error, 1)}
	metrics, err := NewMetrics(f.reg)
	if err != nil {
		t.Fatal(err)
	}
	f.inst, err = NewInstance(cfg, ownIP, InstanceDeps{Transport: f.tr, Addresses: f.addrs, Metrics: metrics,
		Log: testLogger(t), OnEvent: func(e InstanceEvent) { f.events <- e }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	go func() { f.errc <- f.inst.Run(ctx) }()
	t.Cleanup(func() { f.stop(t) })
	return f
}

func (f *fakeInstance) stop(t *testing.T) {
	t.Helper()
	if f.cancel == nil {
		return
	}
	f.cancel()
	f.cancel = nil
	select {
	case err := <-f.errc:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return within 2s")
	}
}

func (f *fakeInstance) nextEvent(t *testing.T) InstanceEvent {
	t.Helper()
	select {
	case e := <-f.events:
		return e
	case <-time.After(2 * time.Second):
		t.Fatal("no event within 2s")
		return InstanceEvent{}
	}
}

func fastConfig() InstanceConfig {
	c := testInstanceConfig("VI_T", 100)
	c.AdvertInterval = 20 * time.Millisecond
	return c
}

func advertFrom(src netip.Addr, vrid, prio uint8) Received {
	return Received{Src: src, Dst: MulticastGroup4, Packet: Packet{Version: Version3, VRID: vrid, Priority: prio,
		Interval: 20 * time.Millisecond, Addresses: []netip.Addr{netip.MustParseAddr("192.0.2.100")}}}
}

// TestInstanceWithFakes checks the runner's plumbing without root: actions
// reach the transport and addresses in keepalived's order, packets for
// other routers are filtered, and metrics and events follow.
func TestInstanceWithFakes(t *testing.T) {
	f := startFakeInstance(t, fastConfig())
	labels := map[string]string{"instance": "VI_T"}

	if e := f.nextEvent(t); e.State != StateBackup || e.Previous != StateInitialize || e.Instance != "VI_T" || e.Time.IsZero() {
		t.Fatalf("first event %+v, want INIT -> BACKUP of VI_T with a time", e)
	}
	if e := f.nextEvent(t); e.State != StateMaster || e.Reason != ReasonMasterDown {
		t.Fatalf("second event %+v, want BACKUP -> MASTER by master down", e)
	}
	if got, want := f.addrs.get(), []string{"remove", "add", "announce 2"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("address calls %v, want %v (stale cleanup, then takeover)", got, want)
	}
	s := <-f.tr.sent
	if s.p.Priority != 100 || s.p.VRID != 51 || s.src != ownIP || s.dst != MulticastGroup4 || s.p.Version != Version3 {
		t.Errorf("first advert %+v from %v to %v", s.p, s.src, s.dst)
	}
	if v := metricValue(t, f.reg, "kdcha_vrrp_state", map[string]string{"instance": "VI_T", "state": "MASTER"}); v != 1 {
		t.Errorf("kdcha_vrrp_state{MASTER} = %v, want 1", v)
	}

	// Packets for another VRID, another version or invalid ones change
	// nothing; they are counted.
	other := advertFrom(higherIP, 52, 200)
	v2 := advertFrom(higherIP, 51, 200)
	v2.Packet.Version = Version2
	f.tr.in <- other
	f.tr.in <- v2
	f.tr.in <- &InvalidPacketError{Src: higherIP, Err: ErrChecksum}
	waitFor(t, "invalid packet counted", func() bool {
		return metricValue(t, f.reg, "kdcha_vrrp_packets_invalid_total", map[string]string{"interface": "eth0", "reason": "checksum"}) == 1
	})
	if st := f.inst.Status(); st.State != StateMaster {
		t.Fatalf("after foreign packets state %v, want MASTER", st.State)
	}

	// A higher-priority master takes over; a master conflict is counted.
	// Its 10 s interval (learned in v3) keeps this backup from timing out
	// while the test goes on, however slow the machine.
	slow := advertFrom(higherIP, 51, 200)
	slow.Packet.Interval = 10 * time.Second
	f.tr.in <- slow
	if e := f.nextEvent(t); e.State != StateBackup || e.Reason != ReasonHigherPriority {
		t.Fatalf("event %+v, want MASTER -> BACKUP by higher priority", e)
	}
	if st := f.inst.Status(); st.Master != higherIP || st.Since.IsZero() || st.State != StateBackup {
		t.Errorf("Status = %+v, want BACKUP under %v with a time", st, higherIP)
	}
	if v := metricValue(t, f.reg, "kdcha_vrrp_master_conflicts_total", labels); v != 1 {
		t.Errorf("kdcha_vrrp_master_conflicts_total = %v, want 1", v)
	}
	if calls := f.addrs.get(); calls[len(calls)-1] != "remove" {
		t.Errorf("address calls %v, want the VIPs removed last", calls)
	}

	// Tracker inputs reach the machine.
	ctx := context.Background()
	if err := f.inst.SetPriorityDelta(ctx, -30); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "priority 70", func() bool { return f.inst.Status().Priority == 70 })
	if err := f.inst.SetFault(ctx, "health", "kinit failed"); err != nil {
		t.Fatal(err)
	}
	if e := f.nextEvent(t); e.State != StateFault || e.Detail != "kinit failed" || e.Priority != 70 {
		t.Fatalf("event %+v, want BACKUP -> FAULT with detail and priority 70", e)
	}
	if err := f.inst.ClearFault(ctx, "health"); err != nil {
		t.Fatal(err)
	}
	if e := f.nextEvent(t); e.State != StateBackup || e.Reason != ReasonFaultCleared {
		t.Fatalf("event %+v, want FAULT -> BACKUP", e)
	}

	f.stop(t)
	if e := f.nextEvent(t); e.State != StateInitialize || e.Reason != ReasonShutdown {
		t.Fatalf("event %+v, want shutdown", e)
	}
	if err := f.inst.SetFault(ctx, "health", "late"); !errors.Is(err, ErrStopped) {
		t.Errorf("SetFault after Run = %v, want ErrStopped", err)
	}
	if v := metricValue(t, f.reg, "kdcha_vrrp_transitions_total", map[string]string{"instance": "VI_T", "state": "MASTER"}); v != 1 {
		t.Errorf("kdcha_vrrp_transitions_total{MASTER} = %v, want 1", v)
	}
}

// TestInstanceUnicastWithFakes checks that unicast instances send to each
// peer and accept adverts only from them.
func TestInstanceUnicastWithFakes(t *testing.T) {
	cfg := fastConfig()
	peerA, peerB := netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.3")
	cfg.UnicastPeers = []string{peerA.String(), peerB.String()}
	cfg.Priority = 200
	f := startFakeInstance(t, cfg)
	f.nextEvent(t) // BACKUP
	// A stranger claiming a higher priority must be ignored, so the
	// instance still takes over.
	f.tr.in <- advertFrom(netip.MustParseAddr("192.0.2.99"), 51, 250)
	if e := f.nextEvent(t); e.State != StateMaster {
		t.Fatalf("event %+v, want MASTER despite the stranger", e)
	}
	dsts := map[netip.Addr]bool{}
	for range 2 {
		s := <-f.tr.sent
		dsts[s.dst] = true
	}
	if !dsts[peerA] || !dsts[peerB] {
		t.Errorf("first adverts went to %v, want both peers", dsts)
	}
	f.tr.in <- advertFrom(peerB, 51, 250)
	if e := f.nextEvent(t); e.State != StateBackup {
		t.Fatalf("event %+v, want BACKUP after a peer with priority 250", e)
	}
}

func TestNewInstanceErrors(t *testing.T) {
	tr, addrs := newFakeTransport(), &fakeAddrs{}
	bad := fastConfig()
	bad.VRID = 0
	tests := []struct {
		name string
		cfg  InstanceConfig
		deps InstanceDeps
	}{
		{"no transport", fastConfig(), InstanceDeps{Addresses: addrs}},
		{"no addresses", fastConfig(), InstanceDeps{Transport: tr}},
		{"invalid config", bad, InstanceDeps{Transport: tr, Addresses: addrs}},
	}
	for _, tt := range tests {
		if _, err := NewInstance(tt.cfg, ownIP, tt.deps); err == nil {
			t.Errorf("%s: want error", tt.name)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	noIface := fastConfig()
	noIface.Interface = "kdcha-none0"
	noVIPs := fastConfig()
	noVIPs.VirtualIPAddresses = nil
	tests := []struct {
		name string
		cfg  InstanceConfig
		deps InstanceDeps
	}{
		{"transport given", fastConfig(), InstanceDeps{Transport: newFakeTransport()}},
		{"no VIPs", noVIPs, InstanceDeps{}},
		{"missing interface", noIface, InstanceDeps{}},
	}
	for _, tt := range tests {
		if _, err := Open(tt.cfg, tt.deps); err == nil {
			t.Errorf("%s: want error", tt.name)
		}
	}
}

// TestQueuedAdvertBeatsMasterDownTimer: when the master-down timer fires
// while the master's advert is already waiting (a starved loop), the
// advert is fed first and the backup stays BACKUP. Taking the timer first
// made a 50-priority backup MASTER for a moment beside a live master.
func TestQueuedAdvertBeatsMasterDownTimer(t *testing.T) {
	f := &fakeInstance{tr: newFakeTransport(), addrs: &fakeAddrs{}}
	metrics, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	inst, err := NewInstance(fastConfig(), ownIP, InstanceDeps{Transport: f.tr, Addresses: f.addrs, Metrics: metrics, Log: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMachine(inst.params)
	if err != nil {
		t.Fatal(err)
	}
	// Started long ago and never heard the master: the down timer is due.
	m.Step(time.Now().Add(-time.Minute), Start{})
	if m.State() != StateBackup {
		t.Fatalf("state %v after start, want BACKUP", m.State())
	}
	adverts := make(chan Received, 1)
	adverts <- advertFrom(higherIP, 51, 200)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	inst.onTimer(m, adverts, timer)
	if m.State() != StateBackup {
		t.Errorf("state %v after a timeout with the master's advert waiting, want BACKUP", m.State())
	}
	// With nothing waiting, a due timer still makes it MASTER.
	m2, _ := NewMachine(inst.params)
	m2.Step(time.Now().Add(-time.Minute), Start{})
	inst.onTimer(m2, make(chan Received), timer)
	if m2.State() != StateMaster {
		t.Errorf("state %v after a due timeout with no advert, want MASTER", m2.State())
	}
}
