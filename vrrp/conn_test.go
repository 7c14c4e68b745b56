package vrrp

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/kdcha/kdcha/internal/netnstest"
)

// listenIn opens an IPv4 Conn inside a namespace and closes it at the end.
func listenIn(t *testing.T, n netnstest.Node, multicast bool) *Conn {
	return listenFamilyIn(t, n, ListenIPv4, multicast)
}

func listenFamilyIn(t *testing.T, n netnstest.Node, listen func(string, bool) (*Conn, error), multicast bool) *Conn {
	t.Helper()
	var c *Conn
	if err := n.Do(func() (err error) {
		c, err = listen(n.Interface, multicast)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// receive returns the next packet or error within a second.
func receive(t *testing.T, c *Conn) (Received, error) {
	return receiveWithin(t, c, time.Second)
}

func receiveWithin(t *testing.T, c *Conn, d time.Duration) (Received, error) {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(d)); err != nil {
		t.Fatal(err)
	}
	return c.Receive()
}

func TestConnIPv4InNamespaces(t *testing.T) {
	lan := netnstest.NewLAN(t, 3)
	a, b, c := listenIn(t, lan[0], true), listenIn(t, lan[1], true), listenIn(t, lan[2], false)
	srcA := lan[0].Addr.Addr()
	vip := netip.MustParseAddr("192.0.2.100")

	tests := []struct {
		name string
		p    Packet
		dst  netip.Addr
		recv *Conn
	}{
		{"v2 multicast", Packet{Version2, 51, 100, time.Second, []netip.Addr{vip}}, MulticastGroup4, b},
		{"v3 multicast", Packet{Version3, 52, 200, 100 * time.Millisecond, []netip.Addr{vip}}, MulticastGroup4, b},
		{"v3 unicast to a node that did not join", Packet{Version3, 53, 254, 20 * time.Millisecond, []netip.Addr{vip}}, lan[2].Addr.Addr(), c},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := a.Send(tt.p, srcA, tt.dst); err != nil {
				t.Fatal(err)
			}
			r, err := receive(t, tt.recv)
			if err != nil {
				t.Fatalf("Receive: %v", err)
			}
			if r.Src != srcA || r.Dst != tt.dst || !packetsEqual(r.Packet, tt.p) {
				t.Errorf("received %+v from %v to %v, want %+v from %v to %v", r.Packet, r.Src, r.Dst, tt.p, srcA, tt.dst)
			}
		})
	}

	t.Run("sender does not hear itself, non-member hears no multicast", func(t *testing.T) {
		for name, conn := range map[string]*Conn{"sender": a, "non-member": c} {
			if _, err := receiveWithin(t, conn, 300*time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("%s: Receive = %v, want deadline exceeded", name, err)
			}
		}
	})

	t.Run("TTL below 255 is rejected", func(t *testing.T) {
		pc := a.raw.(*conn4).pc
		if err := pc.SetMulticastTTL(64); err != nil {
			t.Fatal(err)
		}
		defer pc.SetMulticastTTL(requiredTTL)
		if err := a.Send(Packet{Version3, 51, 100, time.Second, []netip.Addr{vip}}, srcA, MulticastGroup4); err != nil {
			t.Fatal(err)
		}
		_, err := receive(t, b)
		var ipe *InvalidPacketError
		if !errors.As(err, &ipe) || !errors.Is(err, ErrTTL) || ipe.Src != srcA {
			t.Errorf("Receive = %v, want InvalidPacketError from %v wrapping ErrTTL", err, srcA)
		}
	})

	t.Run("unicast accepts a routed TTL, as keepalived", func(t *testing.T) {
		pc := a.raw.(*conn4).pc
		if err := pc.SetTTL(64); err != nil {
			t.Fatal(err)
		}
		defer pc.SetTTL(requiredTTL)
		p := Packet{Version3, 53, 100, time.Second, []netip.Addr{vip}}
		if err := a.Send(p, srcA, lan[2].Addr.Addr()); err != nil {
			t.Fatal(err)
		}
		if r, err := receive(t, c); err != nil || !packetsEqual(r.Packet, p) {
			t.Errorf("Receive = %+v, %v; want the packet", r.Packet, err)
		}
	})

	t.Run("bad checksum is rejected", func(t *testing.T) {
		bad := append([]byte(nil), v2Wire...)
		bad[7]++
		if _, err := a.raw.(*conn4).pc.WriteTo(bad, nil, &net.IPAddr{IP: MulticastGroup4.AsSlice()}); err != nil {
			t.Fatal(err)
		}
		if _, err := receive(t, b); !errors.Is(err, ErrChecksum) {
			t.Errorf("Receive = %v, want ErrChecksum", err)
		}
	})
}

func primaryIn(t *testing.T, n netnstest.Node, ipv6 bool) netip.Addr {
	t.Helper()
	var a netip.Addr
	if err := n.Do(func() (err error) {
		a, err = PrimaryAddress(n.Interface, ipv6, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return a
}

func TestConnIPv6InNamespaces(t *testing.T) {
	lan := netnstest.NewLAN(t, 3)
	a, b, c := listenFamilyIn(t, lan[0], ListenIPv6, true), listenFamilyIn(t, lan[1], ListenIPv6, true), listenFamilyIn(t, lan[2], ListenIPv6, false)
	srcA := primaryIn(t, lan[0], true)
	if !srcA.IsLinkLocalUnicast() {
		t.Fatalf("PrimaryAddress(ipv6) = %v, want link-local", srcA)
	}
	vip := netip.MustParseAddr("2001:db8::100")
	for _, tt := range []struct {
		name string
		dst  netip.Addr
		recv *Conn
	}{
		{"multicast", MulticastGroup6, b},
		{"unicast", primaryIn(t, lan[2], true), c},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := Packet{Version3, 60, 100, 50 * time.Millisecond, []netip.Addr{vip}}
			if err := a.Send(p, srcA, tt.dst); err != nil {
				t.Fatal(err)
			}
			r, err := receive(t, tt.recv)
			if err != nil {
				t.Fatalf("Receive: %v", err)
			}
			if r.Src != srcA || r.Dst != tt.dst || !packetsEqual(r.Packet, p) {
				t.Errorf("received %+v from %v to %v, want %+v from %v to %v", r.Packet, r.Src, r.Dst, p, srcA, tt.dst)
			}
		})
	}
	t.Run("hop limit below 255 is rejected", func(t *testing.T) {
		pc := a.raw.(*conn6).pc
		if err := pc.SetMulticastHopLimit(1); err != nil {
			t.Fatal(err)
		}
		b6, err := Packet{Version3, 60, 100, time.Second, []netip.Addr{vip}}.Marshal(srcA, MulticastGroup6)
		if err != nil {
			t.Fatal(err)
		}
		// Without a hop limit in the control message the socket's applies.
		if _, err := pc.WriteTo(b6, nil, &net.IPAddr{IP: MulticastGroup6.AsSlice(), Zone: a.raw.(*conn6).zone}); err != nil {
			t.Fatal(err)
		}
		if _, err := receive(t, b); !errors.Is(err, ErrTTL) {
			t.Errorf("Receive = %v, want ErrTTL", err)
		}
	})
}

func TestPrimaryAddressInNamespace(t *testing.T) {
	lan := netnstest.NewLAN(t, 1)
	n := lan[0]
	// A stale VIP added before the node's own address must be skipped.
	n.IP(t, "addr", "flush", "dev", n.Interface, "scope", "global")
	n.IP(t, "addr", "add", "192.0.2.100/24", "dev", n.Interface)
	n.IP(t, "addr", "add", n.Addr.String(), "dev", n.Interface)
	var got4 netip.Addr
	var errNone error
	if err := n.Do(func() (err error) {
		got4, err = PrimaryAddress(n.Interface, false, []netip.Prefix{netip.MustParsePrefix("192.0.2.100/24")})
		if err != nil {
			return err
		}
		_, errNone = PrimaryAddress("lo", true, nil)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got4 != n.Addr.Addr() {
		t.Errorf("PrimaryAddress = %v, want %v (the VIP must be skipped)", got4, n.Addr.Addr())
	}
	if !errors.Is(errNone, ErrNoPrimaryAddress) {
		t.Errorf("PrimaryAddress(lo, ipv6) err = %v, want ErrNoPrimaryAddress", errNone)
	}
}
