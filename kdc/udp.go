package kdc

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// udpConn is a UDP socket that reports each datagram's destination address
// and arrival time and can send from a chosen source address. MIT clients
// connect() their UDP socket, so the kernel drops a reply whose source is
// not the address they sent to; on a wildcard socket (the VIP may be added
// after the KDC starts) the reply's source must be set explicitly, from
// IP_PKTINFO. The arrival time (SO_TIMESTAMPNS, stamped by the kernel when
// the datagram is queued) tells how long a request waited in the socket,
// which no clock read after recvmsg can. Reads and writes allocate
// nothing: the caller owns the buffers.
type udpConn struct {
	conn *net.UDPConn
	v6   bool
}

// udpOOBSize is the control buffer a read needs: a packet-info and a
// timestamp message (64 bytes each is ample on every Linux ABI).
const udpOOBSize = 128

// listenUDPGroup binds n sockets to addr with SO_REUSEPORT, so that the
// kernel spreads datagrams over them (by source address and port: one
// client's requests stay on one socket, in order) and each is read by its
// own goroutine without sharing a receive queue. With port 0, the first
// socket picks the port and the others join it.
//
// Another process can join the group only if it sets SO_REUSEPORT too and
// runs as the same user; an older socket on the port without it (MIT's
// krb5kdc) makes the bind fail, as before.
func listenUDPGroup(addr *net.UDPAddr, n int) ([]*udpConn, error) {
	var group []*udpConn
	for range n {
		u, err := listenUDP(addr)
		if err != nil {
			for _, g := range group {
				g.close()
			}
			return nil, err
		}
		group = append(group, u)
		addr = &net.UDPAddr{IP: addr.IP, Port: u.localAddr().Port}
	}
	return group, nil
}

func listenUDP(addr *net.UDPAddr) (*udpConn, error) {
	network, v6 := "udp4", false
	if addr.IP != nil && addr.IP.To4() == nil {
		network, v6 = "udp6", true
	}
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		cerr := rc.Control(func(fd uintptr) {
			set := func(level, opt int, name string) {
				if err == nil {
					if e := unix.SetsockoptInt(int(fd), level, opt, 1); e != nil {
						err = fmt.Errorf("%s: %w", name, e)
					}
				}
			}
			set(unix.SOL_SOCKET, unix.SO_REUSEPORT, "SO_REUSEPORT")
			set(unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, "SO_TIMESTAMPNS")
			if v6 {
				set(unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, "IPV6_RECVPKTINFO")
			} else {
				set(unix.IPPROTO_IP, unix.IP_PKTINFO, "IP_PKTINFO")
			}
		})
		return errors.Join(cerr, err)
	}}
	pc, err := lc.ListenPacket(context.Background(), network, addr.String())
	if err != nil {
		return nil, fmt.Errorf("listen udp %s: %w", addr, err)
	}
	return &udpConn{conn: pc.(*net.UDPConn), v6: v6}, nil
}

// read returns one datagram in buf, its sender, the local address it was
// sent to (invalid if unknown) and when the kernel queued it (zero if
// unknown). oob is scratch space of udpOOBSize bytes.
func (u *udpConn) read(buf, oob []byte) (n int, from netip.AddrPort, to netip.Addr, at time.Time, err error) {
	n, oobn, _, from, err := u.conn.ReadMsgUDPAddrPort(buf, oob)
	if err != nil {
		return 0, netip.AddrPort{}, netip.Addr{}, time.Time{}, err
	}
	to, at = parseControl(oob[:oobn])
	return n, from, to, at, nil
}

// write sends b to dst from source address src (invalid: the kernel
// chooses). oob is scratch space of udpOOBSize bytes.
func (u *udpConn) write(b []byte, dst netip.AddrPort, src netip.Addr, oob []byte) error {
	var cm []byte
	if src.IsValid() {
		cm = appendPktinfo(oob[:0], src, u.v6)
	}
	_, _, err := u.conn.WriteMsgUDPAddrPort(b, cm, dst)
	return err
}

func (u *udpConn) localAddr() *net.UDPAddr { return u.conn.LocalAddr().(*net.UDPAddr) }

func (u *udpConn) close() error { return u.conn.Close() }

// Control messages are parsed with x/sys/unix's one-message parser, which
// returns slices of the buffer, and built by hand: its other helpers
// (ParseSocketControlMessage, PktInfo4/6) allocate on every datagram. A
// cmsghdr is the length (a size_t), the level and the type (int32 each),
// then the data, padded as unix.CmsgSpace says.
const (
	cmsgLenSize    = unix.SizeofCmsghdr - 8
	sizeofTimespec = int(unsafe.Sizeof(unix.Timespec{}))
)

// parseControl returns the destination address of a packet-info message
// and the time of a SO_TIMESTAMPNS message in b, a recvmsg control buffer;
// each is zero when absent or malformed. Addresses are unmapped.
func parseControl(b []byte) (dst netip.Addr, at time.Time) {
	for len(b) >= unix.SizeofCmsghdr {
		h, data, rest, err := unix.ParseOneSocketControlMessage(b)
		if err != nil {
			return dst, at
		}
		switch {
		case h.Level == unix.IPPROTO_IP && h.Type == unix.IP_PKTINFO && len(data) >= unix.SizeofInet4Pktinfo:
			// struct in_pktinfo: ifindex, spec_dst, addr (the header's
			// destination).
			dst = netip.AddrFrom4([4]byte(data[8:12]))
		case h.Level == unix.IPPROTO_IPV6 && h.Type == unix.IPV6_PKTINFO && len(data) >= unix.SizeofInet6Pktinfo:
			dst = netip.AddrFrom16([16]byte(data[:16])).Unmap()
		case h.Level == unix.SOL_SOCKET && h.Type == unix.SCM_TIMESTAMPNS && len(data) >= sizeofTimespec:
			var sec, nsec int64
			if sizeofTimespec == 16 {
				sec, nsec = int64(binary.NativeEndian.Uint64(data)), int64(binary.NativeEndian.Uint64(data[8:]))
			} else {
				sec, nsec = int64(int32(binary.NativeEndian.Uint32(data))), int64(int32(binary.NativeEndian.Uint32(data[4:])))
			}
			at = time.Unix(sec, nsec)
		}
		b = rest
	}
	return dst, at
}

// appendPktinfo appends a control message that sets a datagram's source
// address to src.
func appendPktinfo(b []byte, src netip.Addr, v6 bool) []byte {
	level, typ, size := int32(unix.IPPROTO_IP), int32(unix.IP_PKTINFO), unix.SizeofInet4Pktinfo
	if v6 {
		level, typ, size = unix.IPPROTO_IPV6, unix.IPV6_PKTINFO, unix.SizeofInet6Pktinfo
	}
	l := unix.CmsgLen(size)
	start := len(b)
	if cmsgLenSize == 8 {
		b = binary.NativeEndian.AppendUint64(b, uint64(l))
	} else {
		b = binary.NativeEndian.AppendUint32(b, uint32(l))
	}
	b = binary.NativeEndian.AppendUint32(b, uint32(level))
	b = binary.NativeEndian.AppendUint32(b, uint32(typ))
	if v6 {
		a := src.As16()
		b = append(b, a[:]...)
		b = append(b, 0, 0, 0, 0) // ifindex: any
	} else {
		a := src.Unmap().As4()
		b = append(b, 0, 0, 0, 0) // ifindex: any
		b = append(b, a[:]...)    // spec_dst: the source address
		b = append(b, 0, 0, 0, 0) // addr: unused when sending
	}
	for len(b)-start < unix.CmsgSpace(size) {
		b = append(b, 0)
	}
	return b
}
