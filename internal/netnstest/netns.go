package netnstest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vishvananda/netns"
)

// cmdTimeout bounds every ip(8) invocation.
const cmdTimeout = 10 * time.Second

var seq atomic.Int64

// NS is a named network namespace that exists until the test ends.
type NS struct {
	name string
}

// Node is a namespace on a LAN with its interface and address.
type Node struct {
	*NS
	// Interface is the node's LAN interface name (eth0).
	Interface string
	// Addr is the node's primary IPv4 address on the LAN.
	Addr netip.Prefix
	// Addr6 is the node's global IPv6 address on the LAN (it also has a
	// link-local one, usable at once since DAD is off).
	Addr6 netip.Prefix
}

// Name returns the namespace name, for `ip netns exec NAME`.
func (ns *NS) Name() string { return ns.name }

// New creates an empty namespace with loopback up, or skips the test when
// that is impossible here.
func New(t testing.TB) *NS {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network namespace tests need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("network namespace tests need ip(8) (Debian package iproute2)")
	}
	name := fmt.Sprintf("kdcha-t-%d-%d", os.Getpid(), seq.Add(1))
	if out, err := run("ip", "netns", "add", name); err != nil {
		t.Skipf("cannot create network namespace: %v: %s", err, out)
	}
	ns := &NS{name: name}
	t.Cleanup(func() {
		if out, err := run("ip", "netns", "del", name); err != nil {
			t.Errorf("deleting namespace %s: %v: %s", name, err, out)
		}
	})
	ns.IP(t, "link", "set", "lo", "up")
	return ns
}

// IP runs `ip -n NS args...` and fails the test on error.
func (ns *NS) IP(t testing.TB, args ...string) string {
	t.Helper()
	out, err := run("ip", append([]string{"-n", ns.name}, args...)...)
	if err != nil {
		t.Fatalf("ip -n %s %v: %v: %s", ns.name, args, err, out)
	}
	return out
}

// Sysctl sets kernel parameters (key=value) inside the namespace.
func (ns *NS) Sysctl(t testing.TB, settings ...string) {
	t.Helper()
	args := append([]string{"netns", "exec", ns.name, "sysctl", "-q", "-w"}, settings...)
	if out, err := run("ip", args...); err != nil {
		t.Fatalf("sysctl in %s %v: %v: %s", ns.name, settings, err, out)
	}
}

// Command returns cmd run inside the namespace; ctx bounds its life.
func (ns *NS) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns.name, name}, args...)...)
}

// Do runs fn on an OS thread switched into the namespace. Sockets and
// netlink handles that fn opens stay in the namespace afterwards.
func (ns *NS) Do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		// The thread is left locked (and so discarded when this goroutine
		// ends) if switching back fails, so no other goroutine runs in
		// the wrong namespace.
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			errc <- fmt.Errorf("get current netns: %w", err)
			return
		}
		defer orig.Close()
		target, err := netns.GetFromName(ns.name)
		if err != nil {
			errc <- fmt.Errorf("open netns %s: %w", ns.name, err)
			return
		}
		defer target.Close()
		if err := netns.Set(target); err != nil {
			errc <- fmt.Errorf("enter netns %s: %w", ns.name, err)
			return
		}
		ferr := fn()
		if err := netns.Set(orig); err != nil {
			errc <- errors.Join(ferr, fmt.Errorf("leave netns %s: %w", ns.name, err))
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// NewLAN creates n node namespaces, each with interface eth0 addressed
// 192.0.2.(i+1)/24 and 2001:db8::(i+1)/64, attached to a bridge in a
// separate switch namespace. Duplicate address detection is off so IPv6
// addresses work at once.
func NewLAN(t testing.TB, n int) []Node {
	t.Helper()
	if _, err := exec.LookPath("sysctl"); err != nil {
		t.Skip("network namespace tests need sysctl(8) (Debian package procps)")
	}
	sw := New(t)
	sw.IP(t, "link", "add", "br0", "type", "bridge")
	// Forward at once: STP listening/learning would delay the first
	// frames and make failover timings meaningless.
	sw.IP(t, "link", "set", "br0", "type", "bridge", "forward_delay", "0", "stp_state", "0")
	sw.IP(t, "link", "set", "br0", "up")
	nodes := make([]Node, n)
	for i := range nodes {
		ns := New(t)
		ns.Sysctl(t, "net.ipv6.conf.default.accept_dad=0", "net.ipv6.conf.all.accept_dad=0")
		port := fmt.Sprintf("p%d", i)
		sw.IP(t, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns.name)
		sw.IP(t, "link", "set", port, "master", "br0", "up")
		addr := netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)}), 24)
		addr6 := netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i + 1)}), 64)
		ns.IP(t, "addr", "add", addr.String(), "dev", "eth0")
		ns.IP(t, "addr", "add", addr6.String(), "dev", "eth0", "nodad")
		ns.IP(t, "link", "set", "eth0", "up")
		nodes[i] = Node{NS: ns, Interface: "eth0", Addr: addr, Addr6: addr6}
	}
	for _, n := range nodes {
		n.waitIPv6Ready(t)
	}
	return nodes
}

// ipv6ReadyTimeout bounds the wait for IPv6 to come up on a new link: the
// kernel configures it only after the carrier event, which link watch may
// deliver up to a second late.
const ipv6ReadyTimeout = 3 * time.Second

// waitIPv6Ready waits until the node has a usable link-local address and
// the multicast route, so tests can send IPv6 at once.
func (n Node) waitIPv6Ready(t testing.TB) {
	t.Helper()
	for start := time.Now(); time.Since(start) < ipv6ReadyTimeout; time.Sleep(20 * time.Millisecond) {
		addrs := n.IP(t, "-6", "addr", "show", "dev", n.Interface, "scope", "link")
		routes := n.IP(t, "-6", "route", "show", "table", "local", "dev", n.Interface)
		if strings.Contains(addrs, "fe80::") && !strings.Contains(addrs, "tentative") && strings.Contains(routes, "ff00::/8") {
			return
		}
	}
	t.Fatalf("IPv6 not ready on %s in %s within %v", n.Interface, n.name, ipv6ReadyTimeout)
}

func run(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out), err
}
