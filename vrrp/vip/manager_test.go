package vip

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kdcha/kdcha/internal/netnstest"
	"github.com/mdlayher/arp"
	"github.com/mdlayher/packet"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

func TestManagerInNamespaces(t *testing.T) {
	lan := netnstest.NewLAN(t, 2)
	node, peer := lan[0], lan[1]
	vip4 := netip.MustParsePrefix("192.0.2.100/24")
	vip6 := netip.MustParsePrefix("2001:db8::100/64")

	var m *Manager
	if err := node.Do(func() (err error) {
		m, err = New(node.Interface, []netip.Prefix{vip4, vip6})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Error(err)
		}
	})

	// A listener on the peer, opened before anything is announced.
	var arpConn *packet.Conn
	if err := peer.Do(func() error {
		ifi, err := net.InterfaceByName(peer.Interface)
		if err != nil {
			return err
		}
		arpConn, err = packet.Listen(ifi, packet.Raw, unix.ETH_P_ARP, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer arpConn.Close()
	var naConn *ipv6.PacketConn
	if err := peer.Do(func() error {
		c, err := net.ListenPacket("ip6:ipv6-icmp", "::")
		if err != nil {
			return err
		}
		naConn = ipv6.NewPacketConn(c)
		var f ipv6.ICMPFilter
		f.SetAll(true)
		f.Accept(ipv6.ICMPTypeNeighborAdvertisement)
		if err := naConn.SetICMPFilter(&f); err != nil {
			return err
		}
		return naConn.SetControlMessage(ipv6.FlagHopLimit|ipv6.FlagDst, true)
	}); err != nil {
		t.Fatal(err)
	}
	defer naConn.Close()

	for range 2 { // Add is idempotent.
		if err := m.Add(); err != nil {
			t.Fatalf("Add: %v", err)
		}
	}
	out := node.IP(t, "addr", "show", "dev", node.Interface)
	for _, want := range []string{"inet 192.0.2.100/24", "inet6 2001:db8::100/64"} {
		if !strings.Contains(out, want) {
			t.Errorf("after Add, %q not in\n%s", want, out)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "2001:db8::100") && strings.Contains(line, "tentative") {
			t.Errorf("IPv6 VIP is tentative (DAD not skipped): %s", line)
		}
	}

	const count = 3
	if err := m.Announce(count); err != nil {
		t.Fatalf("Announce: %v", err)
	}
	if got := readGARPs(t, arpConn, m.ifi.HardwareAddr, vip4.Addr(), count); got != count {
		t.Errorf("peer saw %d gratuitous ARPs for %v, want %d", got, vip4.Addr(), count)
	}
	if got := readNAs(t, naConn, m.ifi.HardwareAddr, vip6.Addr(), count); got != count {
		t.Errorf("peer saw %d unsolicited NAs for %v, want %d", got, vip6.Addr(), count)
	}

	// Link state changes are reported, starting with the current state.
	linkc := make(chan bool, 16)
	linkDone := make(chan struct{})
	if err := m.WatchLink(linkDone, func(up bool) { linkc <- up }); err != nil {
		t.Fatal(err)
	}
	node.IP(t, "link", "set", node.Interface, "down")
	node.IP(t, "link", "set", node.Interface, "up")
	for i, want := range []bool{true, false, true} {
		select {
		case got := <-linkc:
			if got != want {
				t.Fatalf("link report %d: up=%v, want %v", i, got, want)
			}
		case <-time.After(3 * time.Second):
			t.Fatalf("link report %d (up=%v) missing", i, want)
		}
	}
	close(linkDone)
	// Link down removed the IPv4 routes but not the addresses; make sure the
	// VIPs are still there for what follows.
	if err := m.Add(); err != nil {
		t.Fatal(err)
	}

	// An external delete is reported.
	done := make(chan struct{})
	defer close(done)
	removedc := make(chan struct{}, 16)
	if err := m.WatchRemoved(done, func() { removedc <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	node.IP(t, "addr", "del", vip4.String(), "dev", node.Interface)
	select {
	case <-removedc:
	case <-time.After(2 * time.Second):
		t.Fatal("external delete of the VIP not reported within 2s")
	}
	node.IP(t, "addr", "add", "192.0.2.200/24", "dev", node.Interface)
	node.IP(t, "addr", "del", "192.0.2.200/24", "dev", node.Interface)
	if err := m.Add(); err != nil { // restore for the Remove checks below
		t.Fatal(err)
	}

	for range 2 { // Remove is idempotent.
		if err := m.Remove(); err != nil {
			t.Fatalf("Remove: %v", err)
		}
	}
	// Remove deleted both VIPs; the unrelated 192.0.2.200 was not reported.
	for want := 2; want > 0; want-- {
		select {
		case <-removedc:
		case <-time.After(2 * time.Second):
			t.Fatalf("Remove of the VIPs not reported (%d reports missing)", want)
		}
	}
	select {
	case <-removedc:
		t.Error("a deletion that was not a VIP was reported")
	case <-time.After(100 * time.Millisecond):
	}
	out = node.IP(t, "addr", "show", "dev", node.Interface)
	if strings.Contains(out, "192.0.2.100") || strings.Contains(out, "2001:db8::100") {
		t.Errorf("after Remove, VIPs still present:\n%s", out)
	}
	if !strings.Contains(out, node.Addr.String()) {
		t.Errorf("Remove took the node's own address %v:\n%s", node.Addr, out)
	}
}

// readGARPs counts gratuitous ARP requests for vip from mac until want are
// seen or a deadline passes.
func readGARPs(t *testing.T, c *packet.Conn, mac net.HardwareAddr, vip netip.Addr, want int) int {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(2 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	seen := 0
	for range 100 { // bounded: other ARP traffic on the LAN is rare
		n, _, err := c.ReadFrom(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatalf("read ARP: %v", err)
		}
		var p arp.Packet
		if len(buf[:n]) < 14 || p.UnmarshalBinary(buf[14:n]) != nil {
			continue
		}
		if p.Operation == arp.OperationRequest && bytes.Equal(p.SenderHardwareAddr, mac) &&
			p.SenderIP == vip && p.TargetIP == vip && bytes.Equal(buf[:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}) {
			seen++
		}
		if seen == want {
			break
		}
	}
	return seen
}

// readNAs counts unsolicited neighbour advertisements for vip, from vip, to
// ff02::1 with hop limit 255, Override set and mac as target link-layer
// address, until want are seen or a deadline passes.
func readNAs(t *testing.T, c *ipv6.PacketConn, mac net.HardwareAddr, vip netip.Addr, want int) int {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(2 * time.Second)); err != nil {
		t.Fatal(err)
	}
	wantMsg, err := unsolicitedNA(mac, vip)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	seen := 0
	for range 100 { // bounded: only NAs pass the filter
		n, cm, src, err := c.ReadFrom(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatalf("read ICMPv6: %v", err)
		}
		b := buf[:n]
		if len(b) == len(wantMsg) {
			b[2], b[3] = 0, 0 // checksum, filled in by the sender's kernel
		}
		from, _ := netip.AddrFromSlice(src.(*net.IPAddr).IP)
		dst, _ := netip.AddrFromSlice(cm.Dst)
		if bytes.Equal(b, wantMsg) && from == vip && dst == allNodes && cm.HopLimit == 255 {
			seen++
		}
		if seen == want {
			break
		}
	}
	return seen
}
