package vrrp

import (
	"encoding/binary"
	"net/netip"
)

// sum16 adds b to the running one's complement sum as big-endian 16-bit
// words, padding an odd trailing byte with zero (RFC 1071).
func sum16(sum uint32, b []byte) uint32 {
	for len(b) >= 2 {
		sum += uint32(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	return sum
}

// fold reduces a running sum to the 16-bit one's complement checksum.
func fold(sum uint32) uint16 {
	for sum>>16 != 0 {
		sum = (sum & 0xffff) + sum>>16
	}
	return ^uint16(sum)
}

// pseudoHeaderSum returns the partial sum of the IPv4 (RFC 768 style) or
// IPv6 (RFC 8200 section 8.1) pseudo-header that VRRPv3 includes in its
// checksum (RFC 5798 section 5.2.8). length is the VRRP packet length.
func pseudoHeaderSum(src, dst netip.Addr, length int) uint32 {
	var sum uint32
	s, d := src.AsSlice(), dst.AsSlice()
	sum = sum16(sum, s)
	sum = sum16(sum, d)
	if src.Is4() {
		// zero byte + protocol, then the 16-bit length.
		sum += IPProtocol
		sum += uint32(length)
		return sum
	}
	// 32-bit length (always < 2^16 here), 3 zero bytes + next header.
	sum += uint32(length)
	sum += IPProtocol
	return sum
}

// checksum computes the VRRP checksum of pkt, whose checksum field must be
// zero. withPseudo selects the v3 form.
func checksum(pkt []byte, withPseudo bool, src, dst netip.Addr) uint16 {
	var sum uint32
	if withPseudo {
		sum = pseudoHeaderSum(src, dst, len(pkt))
	}
	return fold(sum16(sum, pkt))
}
