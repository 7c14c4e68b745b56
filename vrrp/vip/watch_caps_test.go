package vip

import (
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// TestWatchWithoutCapSysAdmin runs the watches with the capabilities of
// the systemd unit (no CAP_SYS_ADMIN). A subscription that switched
// namespace even to its own failed there with EPERM, and the agent lost
// link tracking and VIP restoration.
func TestWatchWithoutCapSysAdmin(t *testing.T) {
	t.Parallel()
	ns := vethWith(t, "192.0.2.1/24", "192.0.2.100/24")
	linkc := make(chan bool, 16)
	removedc := make(chan struct{}, 16)
	done := make(chan struct{})
	defer close(done)
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the thread, in the test namespace and without
		// CAP_SYS_ADMIN, is discarded when this goroutine ends.
		runtime.LockOSThread()
		errc <- func() error {
			target, err := netns.GetFromName(ns.Name())
			if err != nil {
				return err
			}
			defer target.Close()
			if err := netns.Set(target); err != nil {
				return err
			}
			if err := dropCapability(unix.CAP_SYS_ADMIN); err != nil {
				return err
			}
			m, err := New("eth0", []netip.Prefix{netip.MustParsePrefix("192.0.2.100/24")})
			if err != nil {
				return err
			}
			// Left open: the test's Cleanup deletes the namespace.
			if err := m.WatchLink(done, func(up bool) { linkc <- up }); err != nil {
				return err
			}
			return m.WatchRemoved(done, func() { removedc <- struct{}{} })
		}()
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	select {
	case up := <-linkc:
		if !up {
			t.Error("link reported down")
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no initial link state")
	}
	ns.IP(t, "addr", "del", "192.0.2.100/24", "dev", "eth0")
	select {
	case <-removedc:
	case <-time.After(3 * time.Second):
		t.Fatal("external delete of the VIP not reported")
	}
}

// dropCapability removes c from the calling thread's effective and
// permitted sets (capabilities are per thread).
func dropCapability(c int) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return err
	}
	data[c/32].Effective &^= 1 << (c % 32)
	data[c/32].Permitted &^= 1 << (c % 32)
	return unix.Capset(&hdr, &data[0])
}
