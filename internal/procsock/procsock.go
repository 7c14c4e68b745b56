// Package procsock lists the sockets a process accepts traffic on, read from
// /proc. Tests use it to prove that a running kdcha opens no listener beyond
// the ones it is meant to (the KDC, metrics, the mutual-TLS cluster port and
// the admin socket): any other listener would be a way in that nobody
// authenticates. Linux only.
package procsock

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Socket is one socket that accepts traffic from outside the process.
type Socket struct {
	// Proto is "tcp", "udp", "unix" or "raw".
	Proto string
	// Addr is the local address (ip:port) for tcp, udp and raw sockets, and
	// the bound path (or @abstract name) for unix sockets.
	Addr string
}

func (s Socket) String() string { return s.Proto + " " + s.Addr }

// Listening returns the sockets process pid has open that accept traffic: TCP
// and unix stream sockets in the listening state, unconnected bound UDP
// sockets and raw IP sockets.
func Listening(pid int) ([]Socket, error) {
	inodes, err := socketInodes(pid)
	if err != nil {
		return nil, err
	}
	var out []Socket
	base := filepath.Join("/proc", strconv.Itoa(pid), "net")
	for _, t := range []struct {
		file, proto string
		listening   func(state string, remote netip.AddrPort) bool
	}{
		{"tcp", "tcp", tcpListening}, {"tcp6", "tcp", tcpListening},
		{"udp", "udp", unconnected}, {"udp6", "udp", unconnected},
		{"raw", "raw", unconnected}, {"raw6", "raw", unconnected},
	} {
		socks, err := readInet(filepath.Join(base, t.file), t.proto, inodes, t.listening)
		if err != nil {
			return nil, err
		}
		out = append(out, socks...)
	}
	unix, err := readUnix(filepath.Join(base, "unix"), inodes)
	if err != nil {
		return nil, err
	}
	return append(out, unix...), nil
}

func tcpListening(state string, _ netip.AddrPort) bool { return state == "0A" }

func unconnected(_ string, remote netip.AddrPort) bool { return remote.Port() == 0 }

// socketInodes returns the inodes of the sockets among pid's open files.
func socketInodes(pid int) (map[string]bool, error) {
	dir := filepath.Join("/proc", strconv.Itoa(pid), "fd")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list open files of pid %d: %w", pid, err)
	}
	inodes := map[string]bool{}
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		if ino, ok := strings.CutPrefix(target, "socket:["); ok {
			inodes[strings.TrimSuffix(ino, "]")] = true
		}
	}
	return inodes, nil
}

// readInet parses /proc/PID/net/{tcp,udp,raw}[6]: a header line, then
// "sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...".
func readInet(path, proto string, inodes map[string]bool, keep func(string, netip.AddrPort) bool) ([]Socket, error) {
	var out []Socket
	err := scanTable(path, func(fields []string) error {
		if len(fields) < 10 || !inodes[fields[9]] {
			return nil
		}
		local, err := parseHexAddr(fields[1])
		if err != nil {
			return err
		}
		remote, err := parseHexAddr(fields[2])
		if err != nil {
			return err
		}
		if keep(fields[3], remote) {
			out = append(out, Socket{Proto: proto, Addr: local.String()})
		}
		return nil
	})
	if os.IsNotExist(err) {
		return nil, nil // no IPv6 in this kernel
	}
	return out, err
}

// scanTable calls row with the fields of every line of a /proc/net table
// after its header.
func scanTable(path string, row func(fields []string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		if err := row(strings.Fields(sc.Text())); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	return sc.Err()
}

// parseHexAddr decodes the kernel's "0100007F:0058" form: the address as
// 32-bit words in host (little-endian) order, the port in hex.
func parseHexAddr(s string) (netip.AddrPort, error) {
	ipHex, portHex, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("bad address %q", s)
	}
	raw, err := hex.DecodeString(ipHex)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, fmt.Errorf("bad address %q", s)
	}
	for i := 0; i < len(raw); i += 4 {
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	port, err := strconv.ParseUint(portHex, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("bad port in %q", s)
	}
	ip, _ := netip.AddrFromSlice(net.IP(raw))
	return netip.AddrPortFrom(ip.Unmap(), uint16(port)), nil
}

// soAcceptCon is __SO_ACCEPTCON in the Flags column: a listening socket.
const soAcceptCon = 0x10000

// readUnix parses /proc/PID/net/unix: "Num RefCount Protocol Flags Type St
// Inode [Path]".
func readUnix(path string, inodes map[string]bool) ([]Socket, error) {
	var out []Socket
	err := scanTable(path, func(fields []string) error {
		if len(fields) < 7 || !inodes[fields[6]] {
			return nil
		}
		flags, err := strconv.ParseUint(fields[3], 16, 32)
		if err != nil {
			return fmt.Errorf("bad flags %q", fields[3])
		}
		if flags&soAcceptCon == 0 {
			return nil
		}
		name := ""
		if len(fields) > 7 {
			name = fields[7]
		}
		out = append(out, Socket{Proto: "unix", Addr: name})
		return nil
	})
	return out, err
}
