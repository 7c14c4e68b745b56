package vrrp

import (
	"context"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/net/ipv4"

	"github.com/kdcha/kdcha/internal/netnstest"
	"github.com/kdcha/kdcha/vrrp/vip"
)

// forger sends hand-made adverts from a namespace of its own, with any IP
// source (IP_HDRINCL), as any host on the LAN can.
type forger struct {
	rc *ipv4.RawConn
}

func newForger(t *testing.T, n netnstest.Node) *forger {
	t.Helper()
	var f forger
	if err := n.Do(func() error {
		c, err := net.ListenPacket("ip4:112", "0.0.0.0")
		if err != nil {
			return err
		}
		if f.rc, err = ipv4.NewRawConn(c); err != nil {
			return err
		}
		ifi, err := net.InterfaceByName(n.Interface)
		if err != nil {
			return err
		}
		return f.rc.SetMulticastInterface(ifi)
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.rc.Close() })
	return &f
}

func (f *forger) send(t *testing.T, src netip.Addr, p Packet) {
	t.Helper()
	b, err := p.Marshal(src, MulticastGroup4)
	if err != nil {
		t.Fatal(err)
	}
	h := &ipv4.Header{Version: 4, Len: ipv4.HeaderLen, TOS: trafficClassNetControl, TotalLen: ipv4.HeaderLen + len(b),
		TTL: requiredTTL, Protocol: IPProtocol, Src: src.AsSlice(), Dst: MulticastGroup4.AsSlice()}
	if err := f.rc.WriteTo(h, b, nil); err != nil {
		t.Fatal(err)
	}
}

// watchedTransport reports the priority of every advert the instance
// receives, so the test knows what the Run loop has taken in.
type watchedTransport struct {
	Transport
	got chan uint8
}

func (w watchedTransport) Receive() (Received, error) {
	r, err := w.Transport.Receive()
	if err == nil {
		select {
		case w.got <- r.Packet.Priority:
		default: // the test stopped counting
		}
	}
	return r, err
}

// TestForgedAdvertsInNamespaces: a kdcha master (150) and backup (100) on a
// bridge, and a third host forging 20 lower-priority adverts, first from its
// own address, then in the master's name. Before the first fix every
// packet made the backup flap (2 transitions, 2 notifications each), then
// one flap per burst in the master's name remained (2 transitions); now
// each burst makes at most one transition (none is expected: the backup
// waits for the master's next advert, which contradicts the forgery, and
// the master answers at once an advert forged in its name).
func TestForgedAdvertsInNamespaces(t *testing.T) {
	t.Parallel()
	lan := netnstest.NewLAN(t, 3)
	cfgA, cfgB := testInstanceConfig("A", 150), testInstanceConfig("B", 100)
	a := startInstance(t, lan[0], cfgA)
	waitState(t, a, StateMaster, 3*time.Second)

	reg := prometheus.NewRegistry()
	metrics, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan uint8, 10000)
	var events atomic.Int64
	var b *Instance
	if err := lan[1].Do(func() error {
		conn, err := ListenIPv4(cfgB.Interface, true)
		if err != nil {
			return err
		}
		vips, _ := cfgB.VIPs()
		mgr, err := vip.New(cfgB.Interface, vips)
		if err != nil {
			return err
		}
		b, err = NewInstance(cfgB, lan[1].Addr.Addr(), InstanceDeps{
			Transport: watchedTransport{conn, got}, Addresses: mgr, Metrics: metrics,
			Log:     testLogger(t).With("node", "B"),
			OnEvent: func(InstanceEvent) { events.Add(1) },
		})
		if err != nil {
			return err
		}
		b.owned = mgr
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("B: %v", err)
		}
	})
	waitState(t, &runningNode{ns: lan[1], inst: b}, StateBackup, 3*time.Second)
	// B follows A once it has taken in one of A's adverts.
	for p := range got {
		if p == 150 {
			break
		}
	}

	f := newForger(t, lan[2])
	vipAddr := netip.MustParseAddr("192.0.2.100")
	forged := Packet{Version: Version3, VRID: 51, Priority: 50, Interval: 100 * time.Millisecond, Addresses: []netip.Addr{vipAddr}}
	burst := func(src netip.Addr) int64 {
		t.Helper()
		for len(got) > 0 {
			<-got
		}
		before := events.Load()
		for range 20 {
			f.send(t, src, forged)
			time.Sleep(20 * time.Millisecond) // pacing the attack, not waiting for a result
		}
		// B has handled every forged advert, and the real master's reply to
		// any takeover, once it has taken in three of the master's adverts
		// after the last forged one.
		seen, real := 0, 0
		for real < 3 {
			select {
			case p := <-got:
				switch {
				case p == forged.Priority:
					seen, real = seen+1, 0
				case seen == 20 && p == 150:
					real++
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("B took in %d of 20 forged adverts and %d real ones after them", seen, real)
			}
		}
		return events.Load() - before
	}

	if n := burst(lan[2].Addr.Addr()); n != 0 {
		t.Errorf("20 adverts forged from the forger's own address: B made %d transitions, want 0", n)
	}
	if v := metricValue(t, reg, "kdcha_vrrp_adverts_discarded_total", map[string]string{"instance": "B", "reason": "not_master"}); v != 20 {
		t.Errorf("adverts discarded as not from the master: %v, want 20", v)
	}
	n := burst(lan[0].Addr.Addr())
	t.Logf("20 adverts forged in the master's name: B made %d transitions", n)
	if n > 1 {
		t.Errorf("20 adverts forged in the master's name: B made %d transitions, want at most 1", n)
	}
	if st := b.Status().State; st != StateBackup || a.inst.Status().State != StateMaster {
		t.Errorf("after the attack A is %v and B %v", a.inst.Status().State, st)
	}
}
