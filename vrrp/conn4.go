package vrrp

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"golang.org/x/net/ipv4"
)

// conn4 is the IPv4 raw socket of a Conn.
type conn4 struct {
	pc      *ipv4.PacketConn
	ifindex int
}

// ListenIPv4 opens a Conn on interface ifname for IPv4; with multicast it
// also joins 224.0.0.18 there (unicast-only instances do not, as
// keepalived).
func ListenIPv4(ifname string, multicast bool) (*Conn, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("vrrp: interface %s: %w", ifname, err)
	}
	c, err := listenRaw(fmt.Sprintf("ip4:%d", IPProtocol), ifname)
	if err != nil {
		return nil, err
	}
	pc := ipv4.NewPacketConn(c)
	steps := []func() error{
		func() error { return pc.SetControlMessage(ipv4.FlagTTL|ipv4.FlagDst|ipv4.FlagInterface, true) },
		func() error { return pc.SetTTL(requiredTTL) },
		func() error { return pc.SetMulticastTTL(requiredTTL) },
		func() error { return pc.SetMulticastInterface(ifi) },
		// Our own adverts must not come back as a peer's.
		func() error { return pc.SetMulticastLoopback(false) },
		func() error { return pc.SetTOS(trafficClassNetControl) },
	}
	if multicast {
		steps = append(steps, func() error {
			return pc.JoinGroup(ifi, &net.IPAddr{IP: MulticastGroup4.AsSlice()})
		})
	}
	for _, step := range steps {
		if err := step(); err != nil {
			pc.Close()
			return nil, fmt.Errorf("vrrp: IPv4 socket options on %s: %w", ifname, err)
		}
	}
	return &Conn{raw: &conn4{pc: pc, ifindex: ifi.Index}, name: ifname, buf: make([]byte, maxPacket), checkTTL: multicast}, nil
}

func (c *conn4) read(b []byte) (n, ttl int, src, dst netip.Addr, err error) {
	n, cm, from, err := c.pc.ReadFrom(b)
	if err != nil {
		return 0, 0, src, dst, err
	}
	src = addrOf(from)
	if cm == nil {
		return 0, 0, src, dst, &InvalidPacketError{Src: src, Err: errNoControlMessage}
	}
	return n, cm.TTL, src, ipOf(cm.Dst), nil
}

func (c *conn4) write(b []byte, src, dst netip.Addr) error {
	// IP_PKTINFO's source pins the advert to the instance's address even
	// when the interface has several.
	cm := &ipv4.ControlMessage{Src: src.AsSlice(), IfIndex: c.ifindex}
	_, err := c.pc.WriteTo(b, cm, &net.IPAddr{IP: dst.AsSlice()})
	return err
}

func (c *conn4) setReadDeadline(t time.Time) error { return c.pc.SetReadDeadline(t) }
func (c *conn4) close() error                      { return c.pc.Close() }
