package vrrp

import (
	"bytes"
	"net/netip"
	"testing"
	"time"
)

// FuzzUnmarshal checks that decoding never panics and that whatever decodes
// re-encodes to a packet that decodes to the same value, and to the very same
// bytes when the input had its ignored fields (v2 auth data, v3 reserved
// bits) at zero.
func FuzzUnmarshal(f *testing.F) {
	f.Add(v2Wire, false)
	for _, p := range []Packet{
		{Version3, 1, 100, time.Second, []netip.Addr{vip4}},
		{Version3, 200, 0, 40950 * time.Millisecond, []netip.Addr{vip4, vip4b}},
	} {
		b, err := p.Marshal(src4, dst4)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
	}
	b6, err := Packet{Version3, 9, 255, 20 * time.Millisecond, []netip.Addr{vip6}}.Marshal(src6, dst6)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b6, true)

	f.Fuzz(func(t *testing.T, b []byte, ipv6 bool) {
		src, dst := src4, dst4
		if ipv6 {
			src, dst = src6, dst6
		}
		var p Packet
		if err := p.Unmarshal(b, src, dst); err != nil {
			return
		}
		out, err := p.Marshal(src, dst)
		if err != nil {
			t.Fatalf("decoded %+v but Marshal failed: %v", p, err)
		}
		var p2 Packet
		if err := p2.Unmarshal(out, src, dst); err != nil {
			t.Fatalf("re-encoded packet does not decode: %v", err)
		}
		if !packetsEqual(p, p2) {
			t.Fatalf("round trip changed the packet: %+v -> %+v", p, p2)
		}
		if ignoredFieldsZero(b) && !bytes.Equal(out, b) {
			t.Fatalf("re-encoded\n%x\nwant\n%x", out, b)
		}
	})
}

// ignoredFieldsZero reports whether the fields the decoder ignores are zero,
// i.e. whether b is the canonical encoding of what it decodes to.
func ignoredFieldsZero(b []byte) bool {
	if Version(b[0]>>4) == Version3 {
		return b[4]&0xf0 == 0
	}
	for _, c := range b[len(b)-v2AuthDataLen:] {
		if c != 0 {
			return false
		}
	}
	return true
}
