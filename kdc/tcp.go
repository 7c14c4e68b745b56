package kdc

import (
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// listenTCP opens a TCP listener with an explicit backlog. net.Listen always
// uses net.core.somaxconn and offers no knob, and the backlog is what decides
// whether a burst of clients is queued or refused, so the socket is built by
// hand.
func listenTCP(addr *net.TCPAddr, backlog int) (net.Listener, error) {
	family, sa := unix.AF_INET, unix.Sockaddr(nil)
	if ip4 := addr.IP.To4(); addr.IP == nil || ip4 != nil {
		s := &unix.SockaddrInet4{Port: addr.Port}
		if ip4 != nil {
			copy(s.Addr[:], ip4)
		}
		sa = s
	} else {
		family = unix.AF_INET6
		s := &unix.SockaddrInet6{Port: addr.Port}
		copy(s.Addr[:], addr.IP.To16())
		sa = s
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.IPPROTO_TCP)
	if err != nil {
		return nil, fmt.Errorf("tcp socket: %w", err)
	}
	fail := func(what string, err error) (net.Listener, error) {
		unix.Close(fd)
		return nil, fmt.Errorf("%s tcp %s: %w", what, addr, err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return fail("SO_REUSEADDR", err)
	}
	if family == unix.AF_INET6 {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1); err != nil {
			return fail("IPV6_V6ONLY", err)
		}
	}
	if err := unix.Bind(fd, sa); err != nil {
		return fail("bind", err)
	}
	if err := unix.Listen(fd, backlog); err != nil {
		return fail("listen", err)
	}
	f := os.NewFile(uintptr(fd), "kdc-tcp-listener")
	defer f.Close() // FileListener dups the descriptor
	l, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("tcp listener %s: %w", addr, err)
	}
	return l, nil
}
