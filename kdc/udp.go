package kdc

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// udpConn is a UDP socket that reports each datagram's destination address
// and can send from a chosen source address. MIT clients connect() their UDP
// socket, so the kernel drops a reply whose source is not the address they
// sent to; on a wildcard socket (the VIP may be added after the KDC starts)
// the reply's source must be set explicitly, from IP_PKTINFO.
type udpConn struct {
	conn *net.UDPConn
	v4   *ipv4.PacketConn
	v6   *ipv6.PacketConn
}

func listenUDP(addr *net.UDPAddr) (*udpConn, error) {
	network := "udp4"
	if addr.IP != nil && addr.IP.To4() == nil {
		network = "udp6"
	}
	c, err := net.ListenUDP(network, addr)
	if err != nil {
		return nil, fmt.Errorf("listen udp %s: %w", addr, err)
	}
	u := &udpConn{conn: c}
	if network == "udp4" {
		u.v4 = ipv4.NewPacketConn(c)
		err = u.v4.SetControlMessage(ipv4.FlagDst, true)
	} else {
		u.v6 = ipv6.NewPacketConn(c)
		err = u.v6.SetControlMessage(ipv6.FlagDst, true)
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("enable packet info on udp %s: %w", addr, err)
	}
	return u, nil
}

// read returns one datagram, its sender and the local address it was sent to.
func (u *udpConn) read(buf []byte) (n int, from netip.AddrPort, to net.IP, err error) {
	var src net.Addr
	if u.v4 != nil {
		var cm *ipv4.ControlMessage
		n, cm, src, err = u.v4.ReadFrom(buf)
		if cm != nil {
			to = cm.Dst
		}
	} else {
		var cm *ipv6.ControlMessage
		n, cm, src, err = u.v6.ReadFrom(buf)
		if cm != nil {
			to = cm.Dst
		}
	}
	if err != nil {
		return 0, netip.AddrPort{}, nil, err
	}
	ua, ok := src.(*net.UDPAddr)
	if !ok {
		return 0, netip.AddrPort{}, nil, errors.New("udp read: sender is not a UDP address")
	}
	return n, ua.AddrPort(), to, nil
}

// write sends b to dst from source address src (nil lets the kernel choose).
func (u *udpConn) write(b []byte, dst netip.AddrPort, src net.IP) error {
	addr := net.UDPAddrFromAddrPort(dst)
	var err error
	if u.v4 != nil {
		var cm *ipv4.ControlMessage
		if src != nil {
			cm = &ipv4.ControlMessage{Src: src}
		}
		_, err = u.v4.WriteTo(b, cm, addr)
	} else {
		var cm *ipv6.ControlMessage
		if src != nil {
			cm = &ipv6.ControlMessage{Src: src}
		}
		_, err = u.v6.WriteTo(b, cm, addr)
	}
	return err
}

func (u *udpConn) localAddr() *net.UDPAddr { return u.conn.LocalAddr().(*net.UDPAddr) }

func (u *udpConn) close() error { return u.conn.Close() }
