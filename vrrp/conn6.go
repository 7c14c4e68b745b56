package vrrp

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"golang.org/x/net/ipv6"
)

// conn6 is the IPv6 raw socket of a Conn.
type conn6 struct {
	pc  *ipv6.PacketConn
	ifi *net.Interface
	// zone is the interface index in decimal: a zone given by name would be
	// resolved in the network namespace of whichever thread sends.
	zone string
}

// ListenIPv6 opens a Conn on interface ifname for IPv6 (VRRP v3 only);
// with multicast it also joins ff02::12 there. Adverts must be sent from
// the interface's link-local address (RFC 5798 section 5.1.2.1).
func ListenIPv6(ifname string, multicast bool) (*Conn, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("vrrp: interface %s: %w", ifname, err)
	}
	c, err := listenRaw(fmt.Sprintf("ip6:%d", IPProtocol), ifname)
	if err != nil {
		return nil, err
	}
	pc := ipv6.NewPacketConn(c)
	steps := []func() error{
		func() error { return pc.SetControlMessage(ipv6.FlagHopLimit|ipv6.FlagDst|ipv6.FlagInterface, true) },
		func() error { return pc.SetHopLimit(requiredTTL) },
		func() error { return pc.SetMulticastHopLimit(requiredTTL) },
		func() error { return pc.SetMulticastInterface(ifi) },
		func() error { return pc.SetMulticastLoopback(false) },
		func() error { return pc.SetTrafficClass(trafficClassNetControl) },
	}
	if multicast {
		steps = append(steps, func() error {
			return pc.JoinGroup(ifi, &net.IPAddr{IP: MulticastGroup6.AsSlice()})
		})
	}
	for _, step := range steps {
		if err := step(); err != nil {
			pc.Close()
			return nil, fmt.Errorf("vrrp: IPv6 socket options on %s: %w", ifname, err)
		}
	}
	return &Conn{raw: &conn6{pc: pc, ifi: ifi, zone: strconv.Itoa(ifi.Index)}, name: ifname, buf: make([]byte, maxPacket), checkTTL: multicast}, nil
}

func (c *conn6) read(b []byte) (n, hopLimit int, src, dst netip.Addr, err error) {
	n, cm, from, err := c.pc.ReadFrom(b)
	if err != nil {
		return 0, 0, src, dst, err
	}
	src = addrOf(from)
	if cm == nil {
		return 0, 0, src, dst, &InvalidPacketError{Src: src, Err: errNoControlMessage}
	}
	return n, cm.HopLimit, src, ipOf(cm.Dst), nil
}

func (c *conn6) write(b []byte, src, dst netip.Addr) error {
	cm := &ipv6.ControlMessage{Src: src.AsSlice(), IfIndex: c.ifi.Index, HopLimit: requiredTTL}
	_, err := c.pc.WriteTo(b, cm, &net.IPAddr{IP: dst.AsSlice(), Zone: c.zone})
	return err
}

func (c *conn6) setReadDeadline(t time.Time) error { return c.pc.SetReadDeadline(t) }
func (c *conn6) close() error                      { return c.pc.Close() }
