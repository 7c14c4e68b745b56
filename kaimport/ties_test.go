package kaimport

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kdcha/kdcha/kaconf"
)

// TestWeightTies: a check whose weight takes the master exactly to the
// backup's priority is reported with the track_script's file:line; a
// weight that goes below it, a weight set on the script itself that goes
// below, and a file with one priority level are not.
func TestWeightTies(t *testing.T) {
	const conf = `vrrp_script chk {
 script "/usr/bin/kinit -kt /etc/k.keytab probe@EXAMPLE.COM"
 weight %d
}
vrrp_instance VI_A {
 interface eth0
 virtual_router_id 51
 priority %d
 virtual_ipaddress {
  192.0.2.10/24
 }
 track_script {
  chk%s
 }
}
vrrp_instance VI_B {
 interface eth0
 virtual_router_id 52
 priority %d
 virtual_ipaddress {
  192.0.2.11/24
 }
 track_script {
  chk%s
 }
}
`
	for _, tc := range []struct {
		name                 string
		scriptWeight, pA, pB int
		trackA, trackB       string
		want                 string // "" no tie note
	}{
		{"track weight ties", -2, 150, 100, " weight -50", " weight -50", "keepalived.conf:13: vrrp_instance VI_A priority 150 with chk weight -50 gives 100"},
		{"script weight ties", -50, 150, 100, "", "", "keepalived.conf:13: vrrp_instance VI_A priority 150 with chk weight -50 gives 100"},
		{"second instance is the master", -30, 70, 100, "", "", "keepalived.conf:24: vrrp_instance VI_B priority 100 with chk weight -30 gives 70"},
		{"below the backup", -51, 150, 100, "", "", ""},
		{"one priority level", -50, 100, 100, "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "keepalived.conf")
			text := fmt.Sprintf(conf, tc.scriptWeight, tc.pA, tc.trackA, tc.pB, tc.trackB)
			if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			r := convertFile(t, path, Options{})
			var ties []string
			for _, n := range r.Notes {
				if strings.Contains(n, "a tie with the backup's priority") {
					ties = append(ties, n)
				}
			}
			switch {
			case tc.want == "" && len(ties) > 0:
				t.Errorf("tie notes %q, want none", ties)
			case tc.want != "" && (len(ties) != 1 || !strings.HasPrefix(ties[0], path[:len(path)-len("keepalived.conf")]+tc.want)):
				t.Errorf("tie notes %q, want one starting %q", ties, tc.want)
			}
			if b, err := r.YAML(path); err != nil || tc.want != "" && !strings.Contains(string(b), "# Check: "+ties[0][:40]) {
				t.Errorf("YAML header does not carry the tie note (err %v)", err)
			}
		})
	}
}

// TestConvertNoChecksNote: a configuration without a converted check says
// that nothing will move the VIP off a failed KDC.
func TestConvertNoChecksNote(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(path, []byte("vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {\n  192.0.2.10\n }\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := convertFile(t, path, Options{Realm: "EXAMPLE.COM"})
	if len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "no vrrp_script was converted") {
		t.Errorf("notes %q, want the missing check", r.Notes)
	}
}

// TestWeightTiesPeers: with the peers' configurations, the backup's
// priority is theirs for the same VRID, even in a file with one instance.
func TestWeightTiesPeers(t *testing.T) {
	const self = "vrrp_script chk {\n script \"/usr/bin/kinit -kt /etc/k.keytab probe@EXAMPLE.COM\"\n weight -50\n}\nvrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 150\n virtual_ipaddress {\n  192.0.2.10/24\n }\n track_script {\n  chk\n }\n}\n"
	dir := t.TempDir()
	path := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(path, []byte(self), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := kaconf.Parse(path, kaconf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, peer string
		want       string // "" no tie note
	}{
		{"no peer", "", ""},
		{"peer of the same VRID", "vrrp_instance VI_X {\n interface eth0\n virtual_router_id 51\n priority 100\n virtual_ipaddress {\n  192.0.2.10/24\n }\n}\n", "a tie with the backup's priority 100 (vrrp_instance VI_X, " + filepath.Join(dir, "peer-of-the-same-VRID.conf") + ":1)"},
		{"peer of another VRID", "vrrp_instance VI_X {\n interface eth0\n virtual_router_id 52\n priority 100\n virtual_ipaddress {\n  192.0.2.11/24\n }\n}\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var o Options
			if tc.peer != "" {
				pp := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".conf")
				if err := os.WriteFile(pp, []byte(tc.peer), 0o600); err != nil {
					t.Fatal(err)
				}
				pc, err := kaconf.Parse(pp, kaconf.Options{})
				if err != nil {
					t.Fatal(err)
				}
				o.Peers = []*kaconf.Config{pc}
			}
			r, err := Convert(c, o)
			if err != nil {
				t.Fatal(err)
			}
			var ties []string
			for _, n := range r.Notes {
				if strings.Contains(n, "a tie with") {
					ties = append(ties, n)
				}
			}
			if tc.want == "" && len(ties) > 0 || tc.want != "" && (len(ties) != 1 || !strings.Contains(ties[0], tc.want) || !strings.HasPrefix(ties[0], path+":13:")) {
				t.Errorf("tie notes %q, want %q at %s:13", ties, tc.want, path)
			}
		})
	}
}
