package vip

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// resubscribeDelay spaces out attempts to subscribe again after a netlink
// subscription failed.
const resubscribeDelay = time.Second

// WatchRemoved calls removed whenever one of the VIPs is deleted from the
// interface, by anyone, Remove included (a caller that did not mean to
// hold the VIPs ignores the call), until done is closed. The subscription
// lives in the network namespace New ran in. If the netlink socket fails
// (ENOBUFS under an address storm), deletions may have been missed, so it
// calls removed once and subscribes again. removed runs on the watch
// goroutine and may block it.
func (m *Manager) WatchRemoved(done <-chan struct{}, removed func()) error {
	subscribe := func() (chan netlink.AddrUpdate, error) {
		ch := make(chan netlink.AddrUpdate, 64)
		if err := netlink.AddrSubscribeWithOptions(ch, done, netlink.AddrSubscribeOptions{Namespace: m.subscribeNS()}); err != nil {
			return nil, fmt.Errorf("vip: subscribe to address changes on %s: %w", m.ifi.Name, err)
		}
		return ch, nil
	}
	ch, err := subscribe()
	if err != nil {
		return err
	}
	go follow(done, ch, subscribe, func(u netlink.AddrUpdate) {
		if !u.NewAddr && u.LinkIndex == m.ifi.Index && m.isVIP(u.LinkAddress.IP) {
			removed()
		}
	}, removed)
	return nil
}

// WatchLink calls changed with the interface's state (up: administratively
// up with carrier) once at the start and then at every change, until done
// is closed. It runs on the watch goroutine and may block it.
func (m *Manager) WatchLink(done <-chan struct{}, changed func(up bool)) error {
	subscribe := func() (chan netlink.LinkUpdate, error) {
		ch := make(chan netlink.LinkUpdate, 16)
		opts := netlink.LinkSubscribeOptions{Namespace: m.subscribeNS(), ListExisting: true}
		if err := netlink.LinkSubscribeWithOptions(ch, done, opts); err != nil {
			return nil, fmt.Errorf("vip: subscribe to link changes of %s: %w", m.ifi.Name, err)
		}
		return ch, nil
	}
	ch, err := subscribe()
	if err != nil {
		return err
	}
	known, last := false, false
	go follow(done, ch, subscribe, func(u netlink.LinkUpdate) {
		a := u.Attrs()
		if a.Index != m.ifi.Index {
			return
		}
		up := a.Flags&net.FlagUp != 0 && a.RawFlags&unix.IFF_RUNNING != 0
		if !known || up != last {
			known, last = true, up
			changed(up)
		}
	}, func() {}) // a new subscription lists the current state anyway
	return nil
}

// subscribeNS is the namespace option of a subscription: nil when the
// calling thread is already in the Manager's namespace (always, outside
// tests), because switching namespace (setns), even to the current one,
// needs CAP_SYS_ADMIN, which the systemd unit does not grant.
func (m *Manager) subscribeNS() *netns.NsHandle {
	cur, err := netns.Get()
	if err == nil {
		defer cur.Close()
		if cur.Equal(m.ns) {
			return nil
		}
	}
	ns := m.ns
	return &ns
}

// follow hands every update of ch to handle until done is closed. The
// netlink library closes ch after a socket error; then updates may have
// been lost, so follow calls lost and subscribes again until it works.
func follow[T any](done <-chan struct{}, ch chan T, subscribe func() (chan T, error), handle func(T), lost func()) {
	for {
		select {
		case <-done:
			return
		case u, ok := <-ch:
			if ok {
				handle(u)
				continue
			}
			select {
			case <-done: // the library closes ch when done is closed too
				return
			default:
			}
			lost()
			for ch = nil; ch == nil; {
				select {
				case <-done:
					return
				case <-time.After(resubscribeDelay):
				}
				ch, _ = subscribe() // retried until it works or done
			}
		}
	}
}

func (m *Manager) isVIP(ip []byte) bool {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return false
	}
	a = a.Unmap()
	for _, p := range m.vips {
		if p.Addr() == a {
			return true
		}
	}
	return false
}
