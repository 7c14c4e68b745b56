package vip

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ErrWouldTakePrimary means a VIP is held by the kernel as the primary
// address of its subnet and deleting it would also delete the node's own
// address, a secondary of it (Linux drops a primary's secondaries with it
// unless net.ipv4.conf.IF.promote_secondaries is 1).
var ErrWouldTakePrimary = errors.New("vip: removing the VIP would also remove the interface's own address")

// Release removes from interface ifname, in the calling thread's network
// namespace, those of vips that are on it, and returns the ones it
// removed. It is the clean-up for an agent that can no longer do it
// itself (killed, crashed): it opens no packet socket, needs no running
// agent and is idempotent; an absent interface or address is nothing to
// do. It deletes only addresses equal to a VIP, address and prefix
// length, and refuses (ErrWouldTakePrimary, others still removed) a VIP
// whose deletion would take one of the interface's own addresses with it.
func Release(ifname string, vips []netip.Prefix) ([]netip.Prefix, error) {
	nl, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("vip: netlink handle: %w", err)
	}
	defer nl.Close()
	link, err := nl.LinkByName(ifname)
	if _, gone := err.(netlink.LinkNotFoundError); gone {
		return nil, nil // the VIPs went with the interface
	}
	if err != nil {
		return nil, fmt.Errorf("vip: interface %s: %w", ifname, err)
	}
	addrs, err := nl.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("vip: addresses of %s: %w", ifname, err)
	}
	var removed []netip.Prefix
	var errs []error
	for _, v := range vips {
		i := slices.IndexFunc(addrs, func(a netlink.Addr) bool { return addrPrefix(a) == v })
		if i < 0 {
			continue
		}
		if own := cascade(addrs, i, vips); own.IsValid() && !promotesSecondaries(ifname) {
			errs = append(errs, fmt.Errorf("%w: %v is the primary of its subnet on %s and %v its secondary; set net.ipv4.conf.%s.promote_secondaries=1", ErrWouldTakePrimary, v, ifname, own, ifname))
			continue
		}
		err := nl.AddrDel(link, &netlink.Addr{IPNet: prefixToIPNet(v)})
		switch {
		case errors.Is(err, unix.EADDRNOTAVAIL): // removed meanwhile
		case err != nil:
			errs = append(errs, fmt.Errorf("vip: remove %v from %s: %w", v, ifname, err))
		default:
			removed = append(removed, v)
		}
	}
	return removed, errors.Join(errs...)
}

// cascade returns an address of the interface that is not a VIP and that
// the kernel would delete along with addrs[i], or the zero prefix: an IPv4
// primary takes the secondaries of its subnet with it.
func cascade(addrs []netlink.Addr, i int, vips []netip.Prefix) netip.Prefix {
	p := addrs[i]
	if p.IP.To4() == nil || p.Flags&unix.IFA_F_SECONDARY != 0 {
		return netip.Prefix{}
	}
	for j, a := range addrs {
		own := addrPrefix(a)
		if j == i || a.Flags&unix.IFA_F_SECONDARY == 0 || slices.Contains(vips, own) {
			continue
		}
		if own.Addr().Is4() && own.Bits() == addrPrefix(p).Bits() && addrPrefix(p).Masked().Contains(own.Addr()) {
			return own
		}
	}
	return netip.Prefix{}
}

// promotesSecondaries reads net.ipv4.conf.IF.promote_secondaries in the
// calling thread's network namespace (/proc/sys/net follows the opener's).
func promotesSecondaries(ifname string) bool {
	b, err := os.ReadFile("/proc/sys/net/ipv4/conf/" + ifname + "/promote_secondaries")
	return err == nil && strings.TrimSpace(string(b)) == "1"
}

func addrPrefix(a netlink.Addr) netip.Prefix {
	ip, ok := netip.AddrFromSlice(a.IP)
	if !ok {
		return netip.Prefix{}
	}
	ones, _ := a.Mask.Size()
	return netip.PrefixFrom(ip.Unmap(), ones)
}
