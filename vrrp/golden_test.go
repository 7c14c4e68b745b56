package vrrp

import (
	"bytes"
	"net/netip"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// keepalivedTestdata holds captures from keepalived 2.2.7 (see its README).
const keepalivedTestdata = "testdata/keepalived"

// goldenSender is what one keepalived instance in a capture advertises.
type goldenSender struct {
	packet     Packet  // Priority is ignored
	priorities []uint8 // the priorities seen, in order of first appearance
}

// TestGoldenKeepalived decodes every VRRP packet keepalived sent in the
// captures, checks the decoded fields and that re-encoding gives the
// captured bytes exactly (checksum included).
func TestGoldenKeepalived(t *testing.T) {
	v2 := func(prios ...uint8) goldenSender {
		return goldenSender{Packet{Version2, 69, 0, time.Second, []netip.Addr{netip.MustParseAddr("192.0.2.10")}}, prios}
	}
	tests := []struct {
		file    string
		adverts int
		// by IP family (true: IPv4), since IPv6 senders use a link-local
		// address that changes with every capture
		senders map[bool]goldenSender
		src4    []netip.Addr // allowed IPv4 sources
	}{
		{"vrrp_advert.pcap", 1, map[bool]goldenSender{true: v2(100)}, []netip.Addr{netip.MustParseAddr("192.0.2.11")}},
		{"takeover_sequence.pcap", 16, map[bool]goldenSender{true: v2(100, 80)},
			[]netip.Addr{netip.MustParseAddr("192.0.2.11"), netip.MustParseAddr("192.0.2.12")}},
		{"vrrp_v3_ipv4_ipv6.pcap", 17, map[bool]goldenSender{
			true: {Packet{Version3, 51, 0, 500 * time.Millisecond,
				[]netip.Addr{netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("198.51.100.10")}}, []uint8{100, 0}},
			false: {Packet{Version3, 52, 0, 250 * time.Millisecond,
				[]netip.Addr{netip.MustParseAddr("2001:db8::10")}}, []uint8{150, 0}},
		}, []netip.Addr{netip.MustParseAddr("192.0.2.11")}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			frames, err := readPcapFrames(filepath.Join(keepalivedTestdata, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			adverts := 0
			seen := map[bool][]uint8{}
			for i, f := range frames {
				ip, ok := parseIP(f)
				if !ok || ip.protocol != IPProtocol {
					continue
				}
				adverts++
				if err := CheckIPHeader(ip.ttl, ip.protocol); err != nil {
					t.Errorf("frame %d: CheckIPHeader: %v", i+1, err)
				}
				is4 := ip.src.Is4()
				if is4 && !slices.Contains(tt.src4, ip.src) || !is4 && !ip.src.IsLinkLocalUnicast() {
					t.Errorf("frame %d: unexpected source %v", i+1, ip.src)
				}
				var p Packet
				if err := p.Unmarshal(ip.payload, ip.src, ip.dst); err != nil {
					t.Fatalf("frame %d: Unmarshal: %v", i+1, err)
				}
				want := tt.senders[is4].packet
				want.Priority = p.Priority
				if !packetsEqual(p, want) {
					t.Errorf("frame %d: decoded %+v, want %+v", i+1, p, want)
				}
				if !slices.Contains(seen[is4], p.Priority) {
					seen[is4] = append(seen[is4], p.Priority)
				}
				got, err := p.Marshal(ip.src, ip.dst)
				if err != nil {
					t.Fatalf("frame %d: Marshal: %v", i+1, err)
				}
				if !bytes.Equal(got, ip.payload) {
					t.Errorf("frame %d: re-encoded\n%x\nwant (keepalived)\n%x", i+1, got, ip.payload)
				}
			}
			if adverts != tt.adverts {
				t.Errorf("found %d VRRP packets, want %d", adverts, tt.adverts)
			}
			for is4, s := range tt.senders {
				if !slices.Equal(seen[is4], s.priorities) {
					t.Errorf("IPv4=%v: priorities %v, want %v", is4, seen[is4], s.priorities)
				}
			}
		})
	}
}

func packetsEqual(a, b Packet) bool {
	if a.Version != b.Version || a.VRID != b.VRID || a.Priority != b.Priority ||
		a.Interval != b.Interval || len(a.Addresses) != len(b.Addresses) {
		return false
	}
	for i := range a.Addresses {
		if a.Addresses[i] != b.Addresses[i] {
			return false
		}
	}
	return true
}
