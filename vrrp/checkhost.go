package vrrp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
)

// CheckHost checks the section against this host's network namespace the
// way Open will find it, so that a typo fails before the agent serves
// rather than when the instance starts: each interface exists, and the
// advert source (unicast_src_ip, or the interface's primary address) is
// an address of that interface. Call it on a section that passed
// Validate; instances Validate rejects are skipped. Messages name the key
// as vrrp.instances[i].key; all problems are reported, joined.
func (c Config) CheckHost() error {
	var errs []error
	for i, in := range c.Instances {
		key := fmt.Sprintf("vrrp.instances[%d]", i)
		vips, err := in.VIPs()
		if err != nil || in.Validate() != nil {
			continue
		}
		ifi, err := net.InterfaceByName(in.Interface)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s.interface: %s: %w", key, in.Interface, err))
			continue
		}
		if in.UnicastSrcIP == "" {
			if _, err := PrimaryAddress(in.Interface, vips[0].Addr().Is6(), vips); err != nil {
				errs = append(errs, fmt.Errorf("%s.interface: %w (set unicast_src_ip)", key, err))
			}
			continue
		}
		src := netip.MustParseAddr(in.UnicastSrcIP) // validated
		has, err := hasAddress(ifi, src)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s.unicast_src_ip: addresses of %s: %w", key, in.Interface, err))
		case !has:
			errs = append(errs, fmt.Errorf("%s.unicast_src_ip: %v is not an address of interface %s; peers would drop adverts from it", key, src, in.Interface))
		}
	}
	return errors.Join(errs...)
}

// hasAddress reports whether a is assigned to ifi.
func hasAddress(ifi *net.Interface, a netip.Addr) (bool, error) {
	addrs, err := ifi.Addrs()
	if err != nil {
		return false, err
	}
	for _, x := range addrs {
		if ipn, ok := x.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(ipn.IP); ok && ip.Unmap() == a.WithZone("") {
				return true, nil
			}
		}
	}
	return false, nil
}
