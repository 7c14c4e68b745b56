package vip

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"

	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/packet"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// Manager adds, removes and announces one instance's VIPs on one
// interface. Its netlink and packet sockets are opened by New in the
// calling thread's network namespace and stay there, which is what lets
// tests run it inside a namespace. Methods are safe for use by one
// goroutine at a time (the instance runner).
type Manager struct {
	ifi  *net.Interface
	link netlink.Link
	nl   *netlink.Handle
	pkt  *packet.Conn     // nil when the interface is not Ethernet
	icmp *ipv6.PacketConn // nil without IPv6 VIPs or Ethernet
	zone string           // interface index, for the IPv6 destination
	ns   netns.NsHandle   // where New ran, for address subscriptions
	vips []netip.Prefix
}

// New opens the sockets for managing vips on interface ifname.
func New(ifname string, vips []netip.Prefix) (*Manager, error) {
	nl, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("vip: netlink handle: %w", err)
	}
	link, err := nl.LinkByName(ifname)
	if err != nil {
		nl.Close()
		return nil, fmt.Errorf("vip: interface %s: %w", ifname, err)
	}
	ifi := &net.Interface{
		Index:        link.Attrs().Index,
		Name:         ifname,
		HardwareAddr: link.Attrs().HardwareAddr,
	}
	ns, err := netns.Get()
	if err != nil {
		nl.Close()
		return nil, fmt.Errorf("vip: current network namespace: %w", err)
	}
	m := &Manager{ifi: ifi, link: link, nl: nl, ns: ns, vips: vips, zone: strconv.Itoa(ifi.Index)}
	if len(ifi.HardwareAddr) != ethernetAddrLen {
		return m, nil
	}
	// Protocol 0: a send-only socket, nothing is queued for reading.
	if m.pkt, err = packet.Listen(ifi, packet.Raw, 0, nil); err != nil {
		m.Close()
		return nil, fmt.Errorf("vip: packet socket on %s: %w", ifname, err)
	}
	if slices.ContainsFunc(vips, func(p netip.Prefix) bool { return p.Addr().Is6() }) {
		if m.icmp, err = listenICMPv6(ifi); err != nil {
			m.Close()
			return nil, fmt.Errorf("vip: ICMPv6 socket on %s: %w", ifname, err)
		}
	}
	return m, nil
}

// listenICMPv6 opens the socket unsolicited neighbour advertisements are
// sent on. It accepts no ICMPv6 message, so nothing queues up unread.
func listenICMPv6(ifi *net.Interface) (*ipv6.PacketConn, error) {
	c, err := net.ListenPacket("ip6:ipv6-icmp", "::")
	if err != nil {
		return nil, err
	}
	pc := ipv6.NewPacketConn(c)
	var block ipv6.ICMPFilter
	block.SetAll(true)
	for _, step := range []func() error{
		func() error { return pc.SetICMPFilter(&block) },
		// RFC 4861 section 7.1.2: receivers drop NAs with another hop limit.
		func() error { return pc.SetMulticastHopLimit(255) },
		func() error { return pc.SetMulticastInterface(ifi) },
	} {
		if err := step(); err != nil {
			pc.Close()
			return nil, err
		}
	}
	return pc, nil
}

// Add configures every VIP; an address already present is left as is.
func (m *Manager) Add() error {
	var errs []error
	for _, p := range m.vips {
		a := &netlink.Addr{IPNet: prefixToIPNet(p)}
		if p.Addr().Is6() {
			// A VIP that moved here must be usable at once, not after
			// duplicate address detection.
			a.Flags = unix.IFA_F_NODAD
		}
		if err := m.nl.AddrReplace(m.link, a); err != nil {
			errs = append(errs, fmt.Errorf("vip: add %v on %s: %w", p, m.ifi.Name, err))
		}
	}
	return errors.Join(errs...)
}

// Remove deletes every VIP; an address already absent is not an error, so
// it also cleans up after a crash at startup.
func (m *Manager) Remove() error {
	var errs []error
	for _, p := range m.vips {
		err := m.nl.AddrDel(m.link, &netlink.Addr{IPNet: prefixToIPNet(p)})
		if err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
			errs = append(errs, fmt.Errorf("vip: remove %v from %s: %w", p, m.ifi.Name, err))
		}
	}
	return errors.Join(errs...)
}

// Announce sends, back to back as keepalived does, count gratuitous ARPs
// for each IPv4 VIP and count unsolicited neighbour advertisements (to
// ff02::1, from the VIP, Override set) for each IPv6 VIP.
func (m *Manager) Announce(count int) error {
	if m.pkt == nil {
		return fmt.Errorf("vip: announce on %s: %w", m.ifi.Name, ErrNotEthernet)
	}
	var errs []error
	for _, p := range m.vips {
		if err := m.announce(p.Addr(), count); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (m *Manager) announce(vip netip.Addr, count int) error {
	if vip.Is4() {
		frame, err := garpFrame(m.ifi.HardwareAddr, vip)
		if err != nil {
			return err
		}
		dst := &packet.Addr{HardwareAddr: ethernet.Broadcast}
		for range count {
			if _, err := m.pkt.WriteTo(frame, dst); err != nil {
				return fmt.Errorf("vip: gratuitous ARP for %v on %s: %w", vip, m.ifi.Name, err)
			}
		}
		return nil
	}
	msg, err := unsolicitedNA(m.ifi.HardwareAddr, vip)
	if err != nil {
		return err
	}
	cm := &ipv6.ControlMessage{Src: vip.AsSlice(), IfIndex: m.ifi.Index, HopLimit: 255}
	dst := &net.IPAddr{IP: allNodes.AsSlice(), Zone: m.zone}
	for range count {
		if _, err := m.icmp.WriteTo(msg, cm, dst); err != nil {
			return fmt.Errorf("vip: neighbour advertisement for %v on %s: %w", vip, m.ifi.Name, err)
		}
	}
	return nil
}

// Close releases the sockets; the addresses are left as they are. Stop
// any WatchRemoved first.
func (m *Manager) Close() error {
	m.nl.Close()
	errs := []error{m.ns.Close()}
	if m.pkt != nil {
		errs = append(errs, m.pkt.Close())
	}
	if m.icmp != nil {
		errs = append(errs, m.icmp.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("vip: close sockets on %s: %w", m.ifi.Name, err)
	}
	return nil
}

func prefixToIPNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}
