package vip

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/kdcha/kdcha/internal/netnstest"
)

// vethWith makes a namespace with interface eth0, up, with the given
// addresses added in order (a veth pair with both ends in the namespace:
// the dummy module is not always available).
func vethWith(t *testing.T, addrs ...string) *netnstest.NS {
	t.Helper()
	ns := netnstest.New(t)
	ns.IP(t, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1")
	ns.IP(t, "link", "set", "eth1", "up")
	for _, a := range addrs {
		ns.IP(t, "addr", "add", a, "dev", "eth0", "nodad")
	}
	ns.IP(t, "link", "set", "eth0", "up")
	return ns
}

func release(t *testing.T, ns *netnstest.NS, ifname string, vips ...string) ([]netip.Prefix, error) {
	t.Helper()
	var ps []netip.Prefix
	for _, v := range vips {
		ps = append(ps, netip.MustParsePrefix(v))
	}
	var removed []netip.Prefix
	err := ns.Do(func() (err error) {
		removed, err = Release(ifname, ps)
		return err
	})
	return removed, err
}

func assertAddrs(t *testing.T, ns *netnstest.NS, present, absent []string) {
	t.Helper()
	out := ns.IP(t, "addr", "show", "dev", "eth0")
	for _, a := range present {
		if !strings.Contains(out, " "+a+" ") {
			t.Errorf("%s missing:\n%s", a, out)
		}
	}
	for _, a := range absent {
		if strings.Contains(out, " "+a+" ") {
			t.Errorf("%s still there:\n%s", a, out)
		}
	}
}

func TestReleaseRemovesOnlyVIPs(t *testing.T) {
	t.Parallel()
	own := []string{"192.0.2.1/24", "192.0.2.200/24", "2001:db8::1/64"}
	ns := vethWith(t, append(own, "192.0.2.100/24", "198.51.100.10/32", "2001:db8::100/64", "192.0.2.150/32")...)
	// 192.0.2.101 is a VIP that is not on the interface; 192.0.2.150 is on
	// it with another prefix length than the VIP's, so it is not the VIP.
	vips := []string{"192.0.2.100/24", "198.51.100.10/32", "2001:db8::100/64", "192.0.2.101/24", "192.0.2.150/24"}
	removed, err := release(t, ns, "eth0", vips...)
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("192.0.2.100/24"), netip.MustParsePrefix("198.51.100.10/32"), netip.MustParsePrefix("2001:db8::100/64")}
	if !slices.Equal(removed, want) {
		t.Errorf("removed %v, want %v", removed, want)
	}
	assertAddrs(t, ns, append(own, "192.0.2.150/32"), vips[:3])

	removed, err = release(t, ns, "eth0", vips...)
	if err != nil || len(removed) != 0 {
		t.Errorf("second release: removed %v, err %v; want nothing, no error", removed, err)
	}
}

func TestReleaseMissingInterfaceIsNothingToDo(t *testing.T) {
	t.Parallel()
	ns := netnstest.New(t)
	if removed, err := release(t, ns, "eth9", "192.0.2.100/24"); err != nil || removed != nil {
		t.Errorf("release on a missing interface: removed %v, err %v", removed, err)
	}
}

// A VIP added before the node's own address in the same subnet is the
// kernel's primary; deleting it would delete the node's address too.
func TestReleaseKeepsTheOwnAddressOfASubnet(t *testing.T) {
	t.Parallel()
	ns := vethWith(t, "192.0.2.100/24", "192.0.2.1/24")
	ns.Sysctl(t, "net.ipv4.conf.eth0.promote_secondaries=0")
	removed, err := release(t, ns, "eth0", "192.0.2.100/24")
	if !errors.Is(err, ErrWouldTakePrimary) || len(removed) != 0 {
		t.Fatalf("removed %v, err %v; want ErrWouldTakePrimary", removed, err)
	}
	assertAddrs(t, ns, []string{"192.0.2.1/24", "192.0.2.100/24"}, nil)

	// With promotion on the kernel keeps the secondary, so the VIP goes.
	ns.Sysctl(t, "net.ipv4.conf.eth0.promote_secondaries=1")
	removed, err = release(t, ns, "eth0", "192.0.2.100/24")
	if err != nil || len(removed) != 1 {
		t.Fatalf("with promote_secondaries: removed %v, err %v", removed, err)
	}
	assertAddrs(t, ns, []string{"192.0.2.1/24"}, []string{"192.0.2.100/24"})
}
