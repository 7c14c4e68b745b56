package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAgentAdvertsOnTheWire captures, in the client namespace, the VRRP
// adverts a running `kdcha agent` (master, priority 200) sends on the LAN,
// for v2 (1 s, multicast), v3 (100 ms, multicast) and v3 unicast (to the
// client's address), and has Wireshark's dissector (`tshark -V`) check
// them: each captured packet is a VRRP advertisement of the configured
// version, VRID 51, priority 200, interval and VIP, from the node's address
// to 224.0.0.18 (or the unicast peer) with TTL 255, a good VRRP checksum,
// and no malformed packet or expert warning. Needs the Debian package
// tshark; captures with tcpdump when installed, else with tshark.
func TestAgentAdvertsOnTheWire(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed (apt-get install -y tshark; scripts/test.sh does); skipping the on-the-wire dissector check")
	}
	t.Parallel()
	const packets = 2
	for _, tt := range []struct {
		name     string
		version  int
		interval time.Duration
		unicast  bool
		advInt   string // tshark's "Adver Int" (v2 seconds, v3 centiseconds)
	}{
		{"v2 1s", 2, time.Second, false, "1"},
		{"v3 100ms", 3, 100 * time.Millisecond, false, "10"},
		{"v3 100ms unicast", 3, 100 * time.Millisecond, true, "10"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := newHALAN(t)
			const nodeAddr, clientAddr = "192.0.2.1", "192.0.2.100"
			dst := "224.0.0.18"
			var peers []string
			if tt.unicast {
				dst, peers = clientAddr, []string{clientAddr}
			}
			n := l.addNode("n1", nodeAddr, 200, vrrpExtra(tt.version, tt.interval, nodeAddr, peers...))
			n.start(t)
			l.holder(masterDown(tt.version, 200, tt.interval)+5*time.Second, n)

			file := filepath.Join(l.dir, "adverts.pcap")
			ctx, cancel := context.WithTimeout(context.Background(), packets*tt.interval+10*time.Second)
			defer cancel()
			var capture *exec.Cmd
			if _, err := exec.LookPath("tcpdump"); err == nil {
				capture = exec.CommandContext(ctx, "ip", "netns", "exec", l.client, "tcpdump", "-i", "eth0", "-n", "-U",
					"-c", fmt.Sprint(packets), "-w", file, "ip proto 112")
			} else {
				capture = exec.CommandContext(ctx, "ip", "netns", "exec", l.client, tshark, "-i", "eth0", "-n",
					"-c", fmt.Sprint(packets), "-a", "duration:10", "-f", "ip proto 112", "-w", file)
			}
			capture.Env = append(capture.Environ(), "HOME="+l.dir)
			if out, err := capture.CombinedOutput(); err != nil {
				t.Fatalf("capture of %d VRRP packets: %v\n%s", packets, err, out)
			}

			cmd := exec.CommandContext(ctx, tshark, "-n", "-r", file, "-V",
				"-o", "vrrp.v3_checksum_as_in_v2:FALSE", "-o", "ip.check_checksum:TRUE")
			cmd.Env = append(cmd.Environ(), "HOME="+l.dir) // no user profile prefs
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("tshark -r: %v\n%s", err, out)
			}
			text := string(out)
			for _, want := range []string{
				"Virtual Router Redundancy Protocol",
				fmt.Sprintf("Version %d, Packet type 1 (Advertisement)", tt.version),
				"Virtual Rtr ID: 51\n",
				"Priority: 200 ",
				"Addr Count: 1\n",
				"Adver Int: " + tt.advInt + "\n",
				"IP Address: " + testVIP + "\n",
				"Source Address: " + nodeAddr + "\n",
				"Destination Address: " + dst + "\n",
				"Time to Live: 255\n",
				"[Checksum Status: Good]",
				"[Header checksum status: Good]",
			} {
				if got := strings.Count(text, want); got != packets {
					t.Errorf("%q appears %d times in tshark's dissection of %d packets, want %d", want, got, packets, packets)
				}
			}
			for _, bad := range []string{"Malformed", "Expert Info (Error", "Expert Info (Warning", "Bad", "incorrect"} {
				if strings.Contains(text, bad) {
					t.Errorf("tshark's dissection contains %q", bad)
				}
			}
			if t.Failed() {
				t.Logf("tshark -V:\n%s", text)
			}
		})
	}
}
