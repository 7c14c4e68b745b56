package vrrp

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"
)

// Version is the VRRP protocol version carried in the packet's first nibble.
type Version uint8

const (
	// Version2 is VRRP version 2 (RFC 3768): IPv4 only, whole-second
	// intervals, checksum over the VRRP packet only. keepalived's default.
	Version2 Version = 2
	// Version3 is VRRP version 3 (RFC 5798): IPv4 and IPv6, centisecond
	// intervals, checksum including the IP pseudo-header.
	Version3 Version = 3
)

const (
	headerLen     = 8 // fixed part shared by v2 and v3
	v2AuthDataLen = 8 // v2 trailer kept for RFC 2338 compatibility
	typeAdvert    = 1
	authNone      = 0
	maxV2Interval = 255 * time.Second
	maxV3Interval = 0xfff * centisecond
	centisecond   = 10 * time.Millisecond
	v3IntervalMsk = 0x0fff // the top 4 bits of the v3 field are reserved
)

// Packet is a VRRP advertisement, the only VRRP packet type. It is a plain
// value: encoding needs the IP source and destination because the v3
// checksum covers them, and decoding needs them to verify that checksum and
// to know whether the addresses are IPv4 or IPv6.
//
// Fields that RFC 3768/5798 say to send as zero and ignore on receipt (v2
// authentication data, v3 reserved bits) are not represented: they are
// written as zero and not checked.
type Packet struct {
	// Version is 2 or 3.
	Version Version
	// VRID is the virtual router ID, 1..255.
	VRID uint8
	// Priority is the sender's priority: 255 owner, 1..254 backup, 0 master
	// resigning.
	Priority uint8
	// Interval is the advertisement interval: whole seconds (1..255 s) in v2,
	// a multiple of 10 ms (10 ms..40.95 s) in v3.
	Interval time.Duration
	// Addresses are the virtual addresses, all of the IP family of the packet.
	Addresses []netip.Addr
}

// Marshal encodes p as it goes on the wire from src to dst (the IP header's
// addresses). It validates p first, so it never emits a packet its own
// decoder would reject.
func (p Packet) Marshal(src, dst netip.Addr) ([]byte, error) {
	is4, err := packetFamily(p.Version, src, dst)
	if err != nil {
		return nil, err
	}
	if p.VRID == 0 {
		return nil, fmt.Errorf("%w: 0", ErrVRID)
	}
	if len(p.Addresses) == 0 || len(p.Addresses) > 255 {
		return nil, fmt.Errorf("%w: %d", ErrAddrCount, len(p.Addresses))
	}
	field, err := encodeInterval(p.Version, p.Interval)
	if err != nil {
		return nil, err
	}
	alen := addrLen(is4)
	b := make([]byte, packetLen(p.Version, alen, len(p.Addresses)))
	b[0] = byte(p.Version)<<4 | typeAdvert
	b[1] = p.VRID
	b[2] = p.Priority
	b[3] = byte(len(p.Addresses))
	if p.Version == Version2 {
		b[4] = authNone
		b[5] = byte(field)
	} else {
		binary.BigEndian.PutUint16(b[4:6], field)
	}
	off := headerLen
	for i, a := range p.Addresses {
		if !a.IsValid() || a.Is4() != is4 || a.Is4In6() {
			return nil, fmt.Errorf("%w: address %d (%v)", ErrAddrFamily, i, a)
		}
		off += copy(b[off:], a.AsSlice())
	}
	binary.BigEndian.PutUint16(b[6:8], checksum(b, p.Version == Version3, src, dst))
	return b, nil
}

// Unmarshal decodes and strictly validates a VRRP packet received from src
// to dst (taken from the IP header). b is the IP payload exactly. It returns
// an error wrapping one of the Err* sentinels and never panics on any input.
func (p *Packet) Unmarshal(b []byte, src, dst netip.Addr) error {
	if len(b) < headerLen {
		return fmt.Errorf("%w: %d bytes", ErrShort, len(b))
	}
	v := Version(b[0] >> 4)
	if v != Version2 && v != Version3 {
		return fmt.Errorf("%w: %d", ErrVersion, v)
	}
	is4, err := packetFamily(v, src, dst)
	if err != nil {
		return err
	}
	if t := b[0] & 0x0f; t != typeAdvert {
		return fmt.Errorf("%w: %d", ErrType, t)
	}
	if b[1] == 0 {
		return fmt.Errorf("%w: 0", ErrVRID)
	}
	count := int(b[3])
	if count == 0 {
		return fmt.Errorf("%w: 0", ErrAddrCount)
	}
	alen := addrLen(is4)
	want := packetLen(v, alen, count)
	if len(b) < want {
		return fmt.Errorf("%w: %d bytes, %d addresses need %d", ErrShort, len(b), count, want)
	}
	if len(b) != want {
		return fmt.Errorf("%w: %d bytes, %d addresses need %d", ErrLength, len(b), count, want)
	}
	var interval time.Duration
	if v == Version2 {
		if b[4] != authNone {
			return fmt.Errorf("%w: %d", ErrAuthType, b[4])
		}
		interval = time.Duration(b[5]) * time.Second
	} else {
		interval = time.Duration(binary.BigEndian.Uint16(b[4:6])&v3IntervalMsk) * centisecond
	}
	if interval == 0 {
		return fmt.Errorf("%w: 0", ErrInterval)
	}
	if c := checksum(b, v == Version3, src, dst); c != 0 {
		return fmt.Errorf("%w: stored %#04x", ErrChecksum, binary.BigEndian.Uint16(b[6:8]))
	}
	addrs := make([]netip.Addr, count)
	for i := range addrs {
		off := headerLen + i*alen
		if is4 {
			addrs[i] = netip.AddrFrom4([4]byte(b[off : off+4]))
		} else {
			addrs[i] = netip.AddrFrom16([16]byte(b[off : off+16]))
		}
	}
	*p = Packet{Version: v, VRID: b[1], Priority: b[2], Interval: interval, Addresses: addrs}
	return nil
}

// packetFamily reports whether the packet is IPv4 from its IP addresses and
// checks that the version can be carried over that family.
func packetFamily(v Version, src, dst netip.Addr) (is4 bool, err error) {
	if v != Version2 && v != Version3 {
		return false, fmt.Errorf("%w: %d", ErrVersion, v)
	}
	if !src.IsValid() || !dst.IsValid() || src.Is4() != dst.Is4() || src.Is4In6() || dst.Is4In6() {
		return false, fmt.Errorf("%w: IP source %v, destination %v", ErrAddrFamily, src, dst)
	}
	if v == Version2 && !src.Is4() {
		return false, fmt.Errorf("%w: version 2 is IPv4 only", ErrVersion)
	}
	return src.Is4(), nil
}

// encodeInterval converts d to the version's wire units, rejecting values the
// field cannot carry exactly rather than rounding them silently.
func encodeInterval(v Version, d time.Duration) (uint16, error) {
	if v == Version2 {
		if d < time.Second || d > maxV2Interval || d%time.Second != 0 {
			return 0, fmt.Errorf("%w: %v (version 2 needs whole seconds 1s..255s)", ErrInterval, d)
		}
		return uint16(d / time.Second), nil
	}
	if d < centisecond || d > maxV3Interval || d%centisecond != 0 {
		return 0, fmt.Errorf("%w: %v (version 3 needs multiples of 10ms, 10ms..40.95s)", ErrInterval, d)
	}
	return uint16(d / centisecond), nil
}

func addrLen(is4 bool) int {
	if is4 {
		return 4
	}
	return 16
}

func packetLen(v Version, alen, count int) int {
	n := headerLen + alen*count
	if v == Version2 {
		n += v2AuthDataLen
	}
	return n
}
