package vrrp

import (
	"context"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTsharkAcceptsEncodedAdverts writes kdcha's v2, v3/IPv4 and v3/IPv6
// adverts into a pcap and has Wireshark's dissector check them: each must
// decode as VRRP of the right version with a good checksum and no expert
// warning or error. Needs the Debian package tshark.
func TestTsharkAcceptsEncodedAdverts(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed (apt-get install -y tshark); skipping dissector cross-check")
	}
	adverts := []struct {
		p        Packet
		src, dst netip.Addr
	}{
		{Packet{Version2, 69, 100, time.Second, []netip.Addr{vip4, vip4b}}, src4, dst4},
		{Packet{Version3, 70, 254, 250 * time.Millisecond, []netip.Addr{vip4}}, src4, dst4},
		{Packet{Version3, 71, 0, 40950 * time.Millisecond, []netip.Addr{vip4}}, src4, vip4b},
		{Packet{Version3, 72, 150, 10 * time.Millisecond, []netip.Addr{vip6, netip.MustParseAddr("fe80::10")}}, src6, dst6},
	}
	var frames [][]byte
	for _, a := range adverts {
		b, err := a.p.Marshal(a.src, a.dst)
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, ethernetIPFrame(a.src, a.dst, b))
	}
	path := filepath.Join(t.TempDir(), "kdcha-vrrp.pcap")
	if err := writePcap(path, frames); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, tshark, "-n", "-r", path, "-V",
		"-o", "vrrp.v3_checksum_as_in_v2:FALSE", "-o", "ip.check_checksum:TRUE")
	cmd.Env = append(cmd.Environ(), "HOME="+t.TempDir()) // no user profile prefs
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, out)
	}
	text := string(out)
	if n := strings.Count(text, "Virtual Router Redundancy Protocol"); n != len(adverts) {
		t.Errorf("tshark decoded %d VRRP packets, want %d\n%s", n, len(adverts), text)
	}
	if n := strings.Count(text, "[Checksum Status: Good]"); n != len(adverts) {
		t.Errorf("tshark reports %d good VRRP checksums, want %d\n%s", n, len(adverts), text)
	}
	for _, bad := range []string{"Malformed", "Expert Info (Error", "Expert Info (Warning", "[Checksum Status: Bad]", "incorrect"} {
		if strings.Contains(text, bad) {
			t.Errorf("tshark output contains %q\n%s", bad, text)
		}
	}
	if n := strings.Count(text, "[Header checksum status: Good]"); n != 3 {
		t.Errorf("tshark reports %d good IPv4 header checksums, want 3 (test frame builder broken?)", n)
	}
	for v, want := range map[string]int{"Version 2": 1, "Version 3": 3} {
		if n := strings.Count(text, v+", Packet type 1 (Advertisement)"); n != want {
			t.Errorf("%d adverts of %s, want %d", n, v, want)
		}
	}
	for _, want := range []string{"Adver Int: 1\n", "Adver Int: 25\n", "Adver Int: 4095\n", "Adver Int: 1\n",
		"Virtual Rtr ID: 72", "IPv6 Address: 2001:db8::10", "IP Address: 198.51.100.7"} {
		if !strings.Contains(text, want) {
			t.Errorf("%q not in tshark output\n%s", want, text)
		}
	}
}
