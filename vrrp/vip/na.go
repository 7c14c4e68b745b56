package vip

import (
	"fmt"
	"net"
	"net/netip"
)

// ICMPv6 neighbour advertisement fields (RFC 4861 section 4.4).
const (
	icmpTypeNeighborAdvert = 136
	naFlagOverride         = 0x20 // in the first flags byte
	ndOptTargetLinkAddr    = 2
	naLen                  = 4 + 4 + 16 + 8 // header, flags, target, option
)

// allNodes is where unsolicited neighbour advertisements go.
var allNodes = netip.MustParseAddr("ff02::1")

// unsolicitedNA returns the ICMPv6 message announcing that vip is now at
// mac, with the Override flag so neighbours replace a cached entry (RFC
// 4861 section 7.2.6), as keepalived sends it. The checksum is left zero:
// the kernel fills it in for ICMPv6 raw sockets.
func unsolicitedNA(mac net.HardwareAddr, vip netip.Addr) ([]byte, error) {
	if len(mac) != ethernetAddrLen {
		return nil, fmt.Errorf("neighbour advertisement for %v: %w: %q is not an Ethernet address", vip, ErrNotEthernet, mac)
	}
	if !vip.Is6() || vip.Is4In6() {
		return nil, fmt.Errorf("neighbour advertisement for %v: not an IPv6 address", vip)
	}
	b := make([]byte, 0, naLen)
	b = append(b, icmpTypeNeighborAdvert, 0, 0, 0) // type, code, checksum
	b = append(b, naFlagOverride, 0, 0, 0)
	b = append(b, vip.AsSlice()...)
	b = append(b, ndOptTargetLinkAddr, 1) // length in units of 8 bytes
	return append(b, mac...), nil
}
