package vrrp

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
	"time"
)

var (
	src4   = netip.MustParseAddr("192.0.2.11")
	dst4   = netip.MustParseAddr("224.0.0.18")
	src6   = netip.MustParseAddr("fe80::11")
	dst6   = netip.MustParseAddr("ff02::12")
	vip4   = netip.MustParseAddr("192.0.2.10")
	vip4b  = netip.MustParseAddr("198.51.100.7")
	vip6   = netip.MustParseAddr("2001:db8::10")
	v2Wire = []byte{0x21, 0x45, 0x64, 0x01, 0x00, 0x01, 0xb8, 0xad, 0xc0, 0x00, 0x02, 0x0a,
		0, 0, 0, 0, 0, 0, 0, 0} // keepalived's advert from vrrp_advert.pcap
)

func TestPacketRoundTrip(t *testing.T) {
	tests := []struct {
		name     string
		p        Packet
		src, dst netip.Addr
		wantLen  int
	}{
		{"v2 one VIP", Packet{Version2, 69, 100, time.Second, []netip.Addr{vip4}}, src4, dst4, 20},
		{"v2 max interval", Packet{Version2, 255, 255, 255 * time.Second, []netip.Addr{vip4, vip4b}}, src4, dst4, 24},
		{"v3 IPv4 min interval", Packet{Version3, 1, 0, 10 * time.Millisecond, []netip.Addr{vip4}}, src4, dst4, 12},
		{"v3 IPv4 max interval", Packet{Version3, 7, 254, 40950 * time.Millisecond, []netip.Addr{vip4, vip4b}}, src4, dst4, 16},
		{"v3 IPv4 unicast", Packet{Version3, 7, 150, 250 * time.Millisecond, []netip.Addr{vip4}}, src4, vip4b, 12},
		{"v3 IPv6", Packet{Version3, 9, 100, time.Second, []netip.Addr{vip6, src6}}, src6, dst6, 40},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.p.Marshal(tt.src, tt.dst)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if len(b) != tt.wantLen {
				t.Errorf("len = %d, want %d", len(b), tt.wantLen)
			}
			var got Packet
			if err := got.Unmarshal(b, tt.src, tt.dst); err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if !packetsEqual(got, tt.p) {
				t.Errorf("round trip = %+v, want %+v", got, tt.p)
			}
			// The checksum binds the packet to its IP addresses in v3 only.
			other := netip.MustParseAddr("192.0.2.99")
			if tt.src.Is6() {
				other = netip.MustParseAddr("fe80::99")
			}
			err = got.Unmarshal(b, other, tt.dst)
			if tt.p.Version == Version3 && !errors.Is(err, ErrChecksum) {
				t.Errorf("v3 from another source: err = %v, want ErrChecksum", err)
			}
			if tt.p.Version == Version2 && err != nil {
				t.Errorf("v2 from another source: err = %v, want nil", err)
			}
		})
	}
}

// TestV3ChecksumKnownValue pins the v3 IPv4 checksum to a value computed by
// hand (RFC 1071 sum over pseudo-header and packet) so a symmetric bug in
// encoder and decoder cannot go unnoticed.
func TestV3ChecksumKnownValue(t *testing.T) {
	p := Packet{Version3, 69, 100, time.Second, []netip.Addr{vip4}}
	b, err := p.Marshal(src4, dst4)
	if err != nil {
		t.Fatal(err)
	}
	// Words: c000 020b e000 0012 0070 000c | 3145 6401 0064 0000 c000 020a
	// fold to 0xfa4f, complement 0x05b0.
	if got := binary.BigEndian.Uint16(b[6:8]); got != 0x05b0 {
		t.Errorf("checksum = %#04x, want 0x05b0", got)
	}
}

func TestMarshalErrors(t *testing.T) {
	ok := Packet{Version3, 1, 100, time.Second, []netip.Addr{vip4}}
	tests := []struct {
		name     string
		mutate   func(*Packet)
		src, dst netip.Addr
		want     error
	}{
		{"version 4", func(p *Packet) { p.Version = 4 }, src4, dst4, ErrVersion},
		{"v2 over IPv6", func(p *Packet) { p.Version = Version2; p.Addresses = []netip.Addr{vip6} }, src6, dst6, ErrVersion},
		{"VRID 0", func(p *Packet) { p.VRID = 0 }, src4, dst4, ErrVRID},
		{"no address", func(p *Packet) { p.Addresses = nil }, src4, dst4, ErrAddrCount},
		{"256 addresses", func(p *Packet) { p.Addresses = make([]netip.Addr, 256) }, src4, dst4, ErrAddrCount},
		{"IPv6 VIP in IPv4 packet", func(p *Packet) { p.Addresses = []netip.Addr{vip6} }, src4, dst4, ErrAddrFamily},
		{"zero VIP", func(p *Packet) { p.Addresses = []netip.Addr{{}} }, src6, dst6, ErrAddrFamily},
		{"mixed src/dst family", func(*Packet) {}, src4, dst6, ErrAddrFamily},
		{"invalid src", func(*Packet) {}, netip.Addr{}, dst4, ErrAddrFamily},
		{"v3 interval 0", func(p *Packet) { p.Interval = 0 }, src4, dst4, ErrInterval},
		{"v3 interval 15ms", func(p *Packet) { p.Interval = 15 * time.Millisecond }, src4, dst4, ErrInterval},
		{"v3 interval 41s", func(p *Packet) { p.Interval = 41 * time.Second }, src4, dst4, ErrInterval},
		{"v2 interval 1.5s", func(p *Packet) { p.Version = Version2; p.Interval = 1500 * time.Millisecond }, src4, dst4, ErrInterval},
		{"v2 interval 256s", func(p *Packet) { p.Version = Version2; p.Interval = 256 * time.Second }, src4, dst4, ErrInterval},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ok
			tt.mutate(&p)
			if _, err := p.Marshal(tt.src, tt.dst); !errors.Is(err, tt.want) {
				t.Errorf("Marshal err = %v, want %v", err, tt.want)
			}
		})
	}
}

// withChecksum recomputes the checksum after a test mutated a packet, so the
// decoder reaches the check the test is about.
func withChecksum(b []byte, v3 bool, src, dst netip.Addr) []byte {
	b[6], b[7] = 0, 0
	binary.BigEndian.PutUint16(b[6:8], checksum(b, v3, src, dst))
	return b
}

func TestUnmarshalErrors(t *testing.T) {
	v2 := func(f func([]byte) []byte) []byte {
		return withChecksum(f(append([]byte(nil), v2Wire...)), false, src4, dst4)
	}
	v3ok, err := Packet{Version3, 1, 100, time.Second, []netip.Addr{vip4}}.Marshal(src4, dst4)
	if err != nil {
		t.Fatal(err)
	}
	v3 := func(f func([]byte) []byte) []byte {
		return withChecksum(f(append([]byte(nil), v3ok...)), true, src4, dst4)
	}
	tests := []struct {
		name     string
		b        []byte
		src, dst netip.Addr
		want     error
	}{
		{"empty", nil, src4, dst4, ErrShort},
		{"7 bytes", v2Wire[:7], src4, dst4, ErrShort},
		{"version 1", v2(func(b []byte) []byte { b[0] = 0x11; return b }), src4, dst4, ErrVersion},
		{"version 15", v2(func(b []byte) []byte { b[0] = 0xf1; return b }), src4, dst4, ErrVersion},
		{"v2 over IPv6", v2Wire, src6, dst6, ErrVersion},
		{"type 2", v2(func(b []byte) []byte { b[0] = 0x22; return b }), src4, dst4, ErrType},
		{"VRID 0", v2(func(b []byte) []byte { b[1] = 0; return b }), src4, dst4, ErrVRID},
		{"count 0", v2(func(b []byte) []byte { b[3] = 0; return b }), src4, dst4, ErrAddrCount},
		{"count 2, one address", v2(func(b []byte) []byte { b[3] = 2; return b }), src4, dst4, ErrShort},
		{"v2 truncated auth data", v2(func(b []byte) []byte { return b[:16] }), src4, dst4, ErrShort},
		{"trailing byte", v2(func(b []byte) []byte { return append(b, 0) }), src4, dst4, ErrLength},
		{"v2 auth PASS", v2(func(b []byte) []byte { b[4] = 1; return b }), src4, dst4, ErrAuthType},
		{"v2 auth AH", v2(func(b []byte) []byte { b[4] = 2; return b }), src4, dst4, ErrAuthType},
		{"v2 interval 0", v2(func(b []byte) []byte { b[5] = 0; return b }), src4, dst4, ErrInterval},
		{"v3 interval 0", v3(func(b []byte) []byte { b[4], b[5] = 0, 0; return b }), src4, dst4, ErrInterval},
		{"v3 interval 0 with reserved bits", v3(func(b []byte) []byte { b[4], b[5] = 0xf0, 0; return b }), src4, dst4, ErrInterval},
		{"v2 bad checksum", func() []byte { b := append([]byte(nil), v2Wire...); b[7]++; return b }(), src4, dst4, ErrChecksum},
		{"v3 bad checksum", func() []byte { b := append([]byte(nil), v3ok...); b[6]++; return b }(), src4, dst4, ErrChecksum},
		{"v3 checksum as v2", withChecksum(append([]byte(nil), v3ok...), false, src4, dst4), src4, dst4, ErrChecksum},
		{"IPv4 packet, IPv6 addresses", v3ok, src6, dst6, ErrShort},
		{"mixed src/dst family", v2Wire, src4, dst6, ErrAddrFamily},
		{"4in6 source", v3ok, netip.AddrFrom16(src4.As16()), dst6, ErrAddrFamily},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Packet
			if err := p.Unmarshal(tt.b, tt.src, tt.dst); !errors.Is(err, tt.want) {
				t.Errorf("Unmarshal err = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestUnmarshalIgnoresReservedFields checks the RFC rule "set to zero on
// transmit, ignore on receipt" for v2 authentication data and v3 reserved
// bits.
func TestUnmarshalIgnoresReservedFields(t *testing.T) {
	b := append([]byte(nil), v2Wire...)
	copy(b[12:], "password")
	var p Packet
	if err := p.Unmarshal(withChecksum(b, false, src4, dst4), src4, dst4); err != nil {
		t.Errorf("v2 with auth data: %v", err)
	}
	v3, err := Packet{Version3, 1, 100, time.Second, []netip.Addr{vip4}}.Marshal(src4, dst4)
	if err != nil {
		t.Fatal(err)
	}
	v3[4] |= 0xf0
	if err := p.Unmarshal(withChecksum(v3, true, src4, dst4), src4, dst4); err != nil {
		t.Fatalf("v3 with reserved bits: %v", err)
	}
	if p.Interval != time.Second {
		t.Errorf("interval = %v, want 1s (reserved bits must not leak in)", p.Interval)
	}
}

func TestCheckIPHeader(t *testing.T) {
	tests := []struct {
		ttl, proto int
		want       error
	}{
		{255, 112, nil},
		{254, 112, ErrTTL},
		{1, 112, ErrTTL},
		{255, 17, ErrProtocol},
		{64, 6, ErrProtocol},
	}
	for _, tt := range tests {
		if err := CheckIPHeader(tt.ttl, tt.proto); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("CheckIPHeader(%d, %d) = %v, want %v", tt.ttl, tt.proto, err, tt.want)
		}
	}
}
