package vip

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
)

func TestUnsolicitedNA(t *testing.T) {
	mac := net.HardwareAddr{0x02, 0xf0, 0, 0, 0, 0x12}
	got, err := unsolicitedNA(mac, netip.MustParseAddr("2001:db8::10"))
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{
		136, 0, 0, 0, // Neighbor Advertisement, checksum by the kernel
		0x20, 0, 0, 0, // R=0 S=0 O=1
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, // target
		2, 1, 0x02, 0xf0, 0, 0, 0, 0x12, // target link-layer address option
	}
	if !bytes.Equal(got, want) {
		t.Errorf("NA\n% x\nwant\n% x", got, want)
	}
	for name, vip := range map[string]netip.Addr{"IPv4": netip.MustParseAddr("192.0.2.1"), "zero": {}} {
		if _, err := unsolicitedNA(mac, vip); err == nil {
			t.Errorf("%s target: want error", name)
		}
	}
	if _, err := unsolicitedNA(nil, netip.MustParseAddr("2001:db8::10")); err == nil {
		t.Error("no MAC: want error")
	}
}
