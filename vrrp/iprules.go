package vrrp

import "fmt"

// IPProtocol is the IANA protocol number of VRRP (IPv4 protocol field, IPv6
// next header).
const IPProtocol = 112

// requiredTTL is the only TTL (hop limit) a VRRP packet may arrive with: a
// sender always uses 255, so anything lower has crossed a router.
const requiredTTL = 255

// CheckIPHeader applies the IP-level receive rules of RFC 5798 section 7.1
// that the codec cannot see: the transport calls it with the TTL (IPv4) or hop
// limit (IPv6) and the protocol / next header it read from the IP header or
// control message, before decoding the payload.
func CheckIPHeader(ttl, protocol int) error {
	if protocol != IPProtocol {
		return fmt.Errorf("%w: got %d", ErrProtocol, protocol)
	}
	if ttl != requiredTTL {
		return fmt.Errorf("%w: got %d", ErrTTL, ttl)
	}
	return nil
}
