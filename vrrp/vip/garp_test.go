package vip

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"testing"
)

// TestGARPFrameMatchesKeepalived compares our frame with the one keepalived
// 2.2.7 sent when taking over VIP 192.0.2.10 (single-frame capture).
func TestGARPFrameMatchesKeepalived(t *testing.T) {
	b, err := os.ReadFile("testdata/garp_takeover.pcap")
	if err != nil {
		t.Fatal(err)
	}
	// Classic little-endian pcap: 24-byte global header, 16-byte record
	// header whose third word is the captured length.
	if len(b) < 40 || binary.LittleEndian.Uint32(b) != 0xa1b2c3d4 {
		t.Fatalf("unexpected pcap header % x", b[:min(len(b), 24)])
	}
	n := int(binary.LittleEndian.Uint32(b[32:36]))
	want := b[40 : 40+n]

	mac := net.HardwareAddr{0x02, 0xf0, 0, 0, 0, 0x12}
	got, err := garpFrame(mac, netip.MustParseAddr("192.0.2.10"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("frame\n% x\nwant (keepalived)\n% x", got, want)
	}
}

func TestGARPFrameErrors(t *testing.T) {
	mac := net.HardwareAddr{0x02, 0xf0, 0, 0, 0, 0x12}
	tests := []struct {
		name string
		mac  net.HardwareAddr
		vip  netip.Addr
	}{
		{"IPv6 VIP", mac, netip.MustParseAddr("2001:db8::1")},
		{"no MAC", nil, netip.MustParseAddr("192.0.2.10")},
		{"zero VIP", mac, netip.Addr{}},
	}
	for _, tt := range tests {
		if _, err := garpFrame(tt.mac, tt.vip); err == nil {
			t.Errorf("%s: want error", tt.name)
		}
	}
}
