package vrrp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Multicast destinations of advertisements (RFC 5798 section 5.1.1.2 and
// 5.1.2.2).
var (
	MulticastGroup4 = netip.MustParseAddr("224.0.0.18")
	MulticastGroup6 = netip.MustParseAddr("ff02::12")
)

// trafficClassNetControl is the IPv4 TOS / IPv6 traffic class keepalived
// sets on adverts (DSCP CS6, network control), so queues prefer them under
// load.
const trafficClassNetControl = 0xc0

// maxPacket bounds a received packet; adverts are at most 8 + 255*16 bytes.
const maxPacket = 4096

// Received is an advertisement accepted by Conn.Receive, with the IP
// addresses it came from and to.
type Received struct {
	// Packet is the decoded advertisement.
	Packet Packet
	// Src and Dst are the IP header's addresses (Dst: the multicast group
	// or this host's unicast address).
	Src, Dst netip.Addr
}

// rawSocket is the family-specific part of a Conn (conn4.go, conn6.go).
type rawSocket interface {
	// read returns the payload length, the TTL / hop limit and the IP
	// addresses of the next packet.
	read(b []byte) (n, ttl int, src, dst netip.Addr, err error)
	write(b []byte, src, dst netip.Addr) error
	setReadDeadline(t time.Time) error
	close() error
}

// Conn sends and receives VRRP on one interface through a raw IP protocol
// 112 socket bound to that interface (ListenIPv4, ListenIPv6). The socket
// is opened in the network namespace of the calling thread. Receive and
// Send may be called from different goroutines.
type Conn struct {
	raw  rawSocket
	name string // interface, for errors
	buf  []byte // used by Receive only
	// checkTTL is off for unicast: keepalived does not check the TTL when
	// unicast peers are configured, so peers may be routed across subnets;
	// the instance's unicast_peers allow-list guards the source instead.
	checkTTL bool
}

// listenRaw opens a raw socket of network ("ip4:112" or "ip6:112") bound
// to interface ifname, so it neither hears nor sends on other interfaces.
func listenRaw(network, ifname string) (net.PacketConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) { serr = unix.BindToDevice(int(fd), ifname) }); err != nil {
			return err
		}
		return serr
	}}
	addr := "0.0.0.0"
	if network[2] == '6' {
		addr = "::"
	}
	c, err := lc.ListenPacket(context.Background(), network, addr)
	if err != nil {
		return nil, fmt.Errorf("vrrp: raw socket on %s: %w", ifname, err)
	}
	return c, nil
}

// Send encodes p and sends it from src (an address of this host: the
// instance's primary address or unicast_src_ip) to dst (the multicast
// group or a unicast peer) with TTL / hop limit 255.
func (c *Conn) Send(p Packet, src, dst netip.Addr) error {
	b, err := p.Marshal(src, dst)
	if err != nil {
		return fmt.Errorf("vrrp: encode advert for VRID %d: %w", p.VRID, err)
	}
	if err := c.raw.write(b, src, dst); err != nil {
		return fmt.Errorf("vrrp: send advert VRID %d to %v on %s: %w", p.VRID, dst, c.name, err)
	}
	return nil
}

// Receive blocks for the next packet and returns it decoded. A packet that
// fails a check (CheckIPHeader, Packet.Unmarshal) gives an
// *InvalidPacketError and the caller should go on receiving; any other
// error (net.ErrClosed after Close) means the connection is done. A
// unicast Conn (multicast false) accepts any TTL, as keepalived does.
func (c *Conn) Receive() (Received, error) {
	n, ttl, src, dst, err := c.raw.read(c.buf)
	if err != nil {
		return Received{}, fmt.Errorf("vrrp: receive on %s: %w", c.name, err)
	}
	if c.checkTTL {
		if err := CheckIPHeader(ttl, IPProtocol); err != nil {
			return Received{}, &InvalidPacketError{Src: src, Err: err}
		}
	}
	r := Received{Src: src, Dst: dst}
	if err := r.Packet.Unmarshal(c.buf[:n], src, dst); err != nil {
		e := &InvalidPacketError{Src: src, Err: err}
		if n >= 2 {
			e.VRID = c.buf[1]
		}
		return Received{}, e
	}
	return r, nil
}

// SetReadDeadline bounds a blocked Receive (tests; the runner uses Close).
func (c *Conn) SetReadDeadline(t time.Time) error { return c.raw.setReadDeadline(t) }

// Close closes the socket, ending a blocked Receive with net.ErrClosed.
func (c *Conn) Close() error {
	if err := c.raw.close(); err != nil {
		return fmt.Errorf("vrrp: close socket on %s: %w", c.name, err)
	}
	return nil
}

// errNoControlMessage means the kernel gave no TTL / destination, so the
// packet cannot be checked.
var errNoControlMessage = errors.New("vrrp: no IP control message (TTL/destination unknown)")

// InvalidPacketError is a received packet that was dropped; Err wraps the
// reason (ErrTTL, ErrChecksum, ...).
type InvalidPacketError struct {
	// Src is the packet's IP source.
	Src netip.Addr
	// VRID is the packet's virtual router ID as far as it could be read
	// (0 if not), so that an instance can report problems of its own
	// peers, such as an authentication type mismatch.
	VRID uint8
	// Err is why it was dropped.
	Err error
}

// Error says who sent the packet and why it was dropped.
func (e *InvalidPacketError) Error() string {
	return fmt.Sprintf("vrrp: invalid packet from %v: %v", e.Src, e.Err)
}

// Unwrap returns the reason, for errors.Is.
func (e *InvalidPacketError) Unwrap() error { return e.Err }

// addrOf converts a socket address to netip without zone or 4in6 form.
func addrOf(a net.Addr) netip.Addr {
	ipa, ok := a.(*net.IPAddr)
	if !ok {
		return netip.Addr{}
	}
	ip, _ := netip.AddrFromSlice(ipa.IP)
	return ip.Unmap()
}

func ipOf(b net.IP) netip.Addr {
	ip, _ := netip.AddrFromSlice(b)
	return ip.Unmap()
}
