package vrrp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
)

// ErrNoPrimaryAddress means the interface has no address usable as the
// source of adverts.
var ErrNoPrimaryAddress = errors.New("vrrp: no primary address on interface")

// PrimaryAddress returns the address adverts are sent from when
// unicast_src_ip is not set, as keepalived chooses it: for IPv4 the
// interface's first IPv4 address that is not a VIP, for IPv6 its link-local
// address (RFC 5798 section 5.1.2.1). It reads the calling thread's network
// namespace.
func PrimaryAddress(ifname string, ipv6 bool, vips []netip.Prefix) (netip.Addr, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("vrrp: interface %s: %w", ifname, err)
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("vrrp: addresses of %s: %w", ifname, err)
	}
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(ipn.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		if isVIP(ip, vips) {
			continue
		}
		if (!ipv6 && ip.Is4()) || (ipv6 && ip.Is6() && ip.IsLinkLocalUnicast()) {
			return ip, nil
		}
	}
	family := "IPv4"
	if ipv6 {
		family = "IPv6 link-local"
	}
	return netip.Addr{}, fmt.Errorf("%w: %s has no %s address", ErrNoPrimaryAddress, ifname, family)
}

func isVIP(a netip.Addr, vips []netip.Prefix) bool {
	for _, v := range vips {
		if v.Addr() == a {
			return true
		}
	}
	return false
}
