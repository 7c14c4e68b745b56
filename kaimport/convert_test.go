package kaimport

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/kdcha/kdcha/health"
	"github.com/kdcha/kdcha/kaconf"
	"github.com/kdcha/kdcha/notify"
	"github.com/kdcha/kdcha/vrrp"
)

func convertFile(t *testing.T, path string, o Options) *Result {
	t.Helper()
	c, err := kaconf.Parse(path, kaconf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Convert(c, o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestConvertSeed converts the seed: a team running MIT krb5kdc (LDAP
// backend) behind keepalived on two nodes, two VIPs active/active, unicast,
// auth PASS, notify scripts, a `kinit -kt` check tracked with weight -50
// and an LDAP check script. Every field is checked.
func TestConvertSeed(t *testing.T) {
	for _, node := range []struct {
		name, src, peer string
		prioA, prioB    int
	}{
		{"kdc1", "192.0.2.1", "192.0.2.2", 150, 100},
		{"kdc2", "192.0.2.2", "192.0.2.1", 100, 150},
	} {
		t.Run(node.name, func(t *testing.T) {
			file := filepath.Join("testdata/seed", node.name, "keepalived.conf")
			r := convertFile(t, file, Options{})
			if r.Realm != "EXAMPLE.COM" || r.NodeName != node.name {
				t.Errorf("realm %q node %q, want EXAMPLE.COM %s", r.Realm, r.NodeName, node.name)
			}
			instance := func(name string, vrid, prio int, vip string) vrrp.InstanceConfig {
				in := vrrp.DefaultInstanceConfig()
				in.Name, in.Interface, in.VRID, in.Priority = name, "eth0", vrid, prio
				in.Version, in.AdvertInterval = 2, time.Second
				in.VirtualIPAddresses = []string{vip}
				in.UnicastSrcIP, in.UnicastPeers = node.src, []string{node.peer}
				in.GARPMasterDelay = 10 * time.Second // global_defs vrrp_garp_master_delay
				return in
			}
			want := vrrp.Config{Instances: []vrrp.InstanceConfig{
				instance("VI_KDC_A", 51, node.prioA, "192.0.2.10/24"),
				instance("VI_KDC_B", 52, node.prioB, "192.0.2.11/24"),
			}}
			if !reflect.DeepEqual(r.VRRP, want) {
				t.Errorf("vrrp:\n%+v\nwant\n%+v", r.VRRP, want)
			}
			w50, w10 := -50, -10
			wantChecks := []health.CheckConfig{{
				Name: "chk_krb5kdc", Type: health.CheckKinit, KDC: "127.0.0.1:88", Transport: health.TransportUDP,
				Principal: "kdc-check/" + node.name + ".example.com@EXAMPLE.COM", Keytab: "/etc/keepalived/kdc-check.keytab",
				Interval: 2 * time.Second, Timeout: 3 * time.Second, Rise: 2, Fall: 2, Weight: &w50,
			}, {
				Name: "chk_ldap", Type: health.CheckScript, Script: health.Command{"/usr/local/bin/check-ldap", "ldapi:///"},
				Interval: 5 * time.Second, Timeout: 5 * time.Second, Rise: 1, Fall: 1, Weight: &w10,
			}}
			if !reflect.DeepEqual(r.Health.Checks, wantChecks) {
				t.Errorf("health checks:\n%+v\nwant\n%+v", r.Health.Checks, wantChecks)
			}
			wantNotify := notify.Config{Scripts: map[string]notify.ScriptConfig{}}
			for _, in := range []string{"VI_KDC_A", "VI_KDC_B"} {
				wantNotify.Scripts[in] = notify.ScriptConfig{
					Notify:       "/usr/local/bin/kdc-notify",
					NotifyMaster: "/etc/keepalived/notify.sh MASTER " + in,
					NotifyBackup: "/etc/keepalived/notify.sh BACKUP " + in,
					NotifyFault:  "/etc/keepalived/notify.sh FAULT " + in,
				}
			}
			if !reflect.DeepEqual(r.Notify, wantNotify) {
				t.Errorf("notify:\n%+v\nwant\n%+v", r.Notify, wantNotify)
			}
			var got []string
			for _, n := range r.NotCarried {
				if n.Why == "" {
					t.Errorf("no reason for %+v", n)
				}
				got = append(got, strings.TrimPrefix(n.Pos.String(), "testdata/seed/"+node.name+"/")+" "+n.What)
			}
			wantNot := []string{
				"keepalived.conf:3 global_defs: script_user keepalived_script",
				"keepalived.conf:3 global_defs: enable_script_security",
				"keepalived.conf:8 global_defs: notification_email",
				"keepalived.conf:11 global_defs: notification_email_from keepalived@" + node.name + ".example.com",
				"keepalived.conf:12 global_defs: smtp_server 127.0.0.1",
				"keepalived.conf:27 vrrp_instance VI_KDC_A: authentication (auth_type PASS)",
				"keepalived.conf:32 vrrp_instance VI_KDC_A: virtual_ipaddress 192.0.2.10/24 label eth0:kdca",
				"keepalived.conf:54 vrrp_instance VI_KDC_B: authentication (auth_type PASS)",
				"keepalived.conf:59 vrrp_instance VI_KDC_B: virtual_ipaddress 192.0.2.11/24 label eth0:kdcb",
				"keepalived.conf:72 virtual_server 192.0.2.12 749",
			}
			if strings.Join(got, "\n") != strings.Join(wantNot, "\n") {
				t.Errorf("not carried over:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantNot, "\n"))
			}
			if len(r.Notes) != 2 || !strings.Contains(r.Notes[0], "probes the KDC at 127.0.0.1:88") || !strings.Contains(r.Notes[0], "KRB5_CONFIG=/etc/keepalived/krb5-local.conf") {
				t.Errorf("notes %q, want the KDC address assumption with the script's KRB5_CONFIG", r.Notes)
			}
			// The seed's chk_krb5kdc weight -50 takes the master from 150
			// to 100, the backup's priority: it never fails over.
			master, line := "VI_KDC_A", 35
			if node.name == "kdc2" {
				master, line = "VI_KDC_B", 62
			}
			tie := fmt.Sprintf("testdata/seed/%s/keepalived.conf:%d: vrrp_instance %s priority 150 with chk_krb5kdc weight -50 gives 100 when the check fails: a tie with the backup's priority 100", node.name, line, master)
			if len(r.Notes) != 2 || !strings.HasPrefix(r.Notes[1], tie) || !strings.Contains(r.Notes[1], "keepalived keeps the master") {
				t.Errorf("notes %q, want the weight tie %q", r.Notes, tie)
			}
			checkYAML(t, r, file)
		})
	}
}

// checkYAML decodes the YAML output back and compares it with the result:
// leaving out default values and adding comments loses nothing.
func checkYAML(t *testing.T, r *Result, source string) {
	t.Helper()
	b, err := r.YAML(source)
	if err != nil {
		t.Fatal(err)
	}
	var doc document
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("decode the output: %v\n%s", err, b)
	}
	if doc.Mode != "keepalived" {
		t.Errorf("mode %q, want keepalived", doc.Mode)
	}
	if doc.Realm != r.Realm || (doc.Node == nil) != (r.NodeName == "") || doc.Node != nil && doc.Node.Name != r.NodeName {
		t.Errorf("realm/node: %+v %+v", doc.Realm, doc.Node)
	}
	if !reflect.DeepEqual(doc.VRRP, r.VRRP) {
		t.Errorf("vrrp after a YAML round trip:\n%+v\nwant\n%+v", doc.VRRP, r.VRRP)
	}
	if h := orZero(doc.Health); !reflect.DeepEqual(h.Checks, r.Health.Checks) {
		t.Errorf("health after a YAML round trip:\n%+v\nwant\n%+v", h.Checks, r.Health.Checks)
	}
	if n := orZero(doc.Notify); !reflect.DeepEqual(n.Scripts, r.Notify.Scripts) {
		t.Errorf("notify after a YAML round trip:\n%+v\nwant\n%+v", n.Scripts, r.Notify.Scripts)
	}
	for _, n := range r.NotCarried {
		if !bytes.Contains(b, []byte(n.Pos.String()+": "+n.What)) {
			t.Errorf("the YAML header does not list %s: %s", n.Pos, n.What)
		}
	}
}

func orZero[T any](p *T) T {
	if p == nil {
		var z T
		return z
	}
	return *p
}

// TestConvertNotCarried is a table of keepalived settings kdcha cannot
// express: each is reported with its line and the conversion goes on.
func TestConvertNotCarried(t *testing.T) {
	const base = `vrrp_instance VI_1 {
 interface eth0
 virtual_router_id 51
 virtual_ipaddress {
  192.0.2.10/24
 }
%s
}
vrrp_instance VI_2 {
 interface eth0
 virtual_router_id 52
 virtual_ipaddress {
  192.0.2.11/24
 }
%s
}
vrrp_script chk {
 script "/usr/bin/kinit -k -t /etc/k.keytab probe@EXAMPLE.COM"
 weight -20
%s
}
`
	for _, tc := range []struct {
		name       string
		vi1, vi2   string
		script     string
		extra      string
		want       []string // "line what" substrings of NotCarried, in order
		wantWeight *int     // of check chk, nil: no check
	}{
		{name: "different weights per instance", vi1: " track_script {\n  chk weight -50\n }", vi2: " track_script {\n  chk\n }",
			want: []string{"18 vrrp_instance VI_2: track_script chk weight -20"}, wantWeight: ptr(-50)},
		{name: "tracked by one instance only", vi1: " track_script {\n  chk\n }",
			want: []string{"19 vrrp_script chk"}, wantWeight: ptr(-20)},
		{name: "reverse weight", vi1: " track_script {\n  chk weight 20 reverse\n }", vi2: " track_script {\n  chk weight 20 reverse\n }",
			want: []string{"21 vrrp_script chk (weight reverse)"}},
		{name: "tracked by nobody", want: []string{"17 vrrp_script chk"}},
		{name: "VIP on another device, other VIP options", vi1: " virtual_ipaddress {\n  198.51.100.1/24 dev eth1\n  192.0.2.20 noprefixroute\n }",
			want: []string{"8 vrrp_instance VI_1: virtual_ipaddress 198.51.100.1/24 dev eth1", "9 vrrp_instance VI_1: virtual_ipaddress 192.0.2.20 noprefixroute", "20 vrrp_script chk"}},
		{name: "track_interface of another interface", vi1: " track_interface {\n  eth0\n  bond1 weight -10\n }",
			want: []string{"9 vrrp_instance VI_1: track_interface bond1", "20 vrrp_script chk"}},
		{name: "sync group and its notify", vi1: " track_script {\n  chk\n }", vi2: " track_script {\n  chk\n }",
			extra: "vrrp_sync_group G {\n group {\n  VI_1\n  VI_2\n }\n notify_master /bin/g\n}\n",
			want:  []string{"26 vrrp_sync_group G", "31 vrrp_sync_group G: /bin/g"}, wantWeight: ptr(-20)},
		{name: "notify as another user", vi1: " notify /bin/n root root\n track_script {\n  chk\n }", vi2: " track_script {\n  chk\n }",
			want: []string{"7 vrrp_instance VI_1: runs /bin/n as root root"}, wantWeight: ptr(-20)},
		{name: "preempt_delay with nopreempt", vi1: " nopreempt\n preempt_delay 10\n track_script {\n  chk\n }", vi2: " track_script {\n  chk\n }",
			want: []string{"1 vrrp_instance VI_1: preempt_delay"}, wantWeight: ptr(-20)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := strings.Replace(strings.Replace(strings.Replace(base, "%s", tc.vi1, 1), "%s", tc.vi2, 1), "%s", tc.script, 1) + tc.extra
			path := filepath.Join(t.TempDir(), "keepalived.conf")
			if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			r := convertFile(t, path, Options{Realm: "EXAMPLE.COM"})
			var got []string
			for _, n := range r.NotCarried {
				got = append(got, itoa(n.Pos.Line)+" "+n.What)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("not carried over:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("not carried over [%d] = %q, want %q", i, got[i], w)
				}
			}
			var gotWeight *int
			for _, c := range r.Health.Checks {
				if c.Name == "chk" {
					gotWeight = c.Weight
				}
			}
			if (gotWeight == nil) != (tc.wantWeight == nil) || gotWeight != nil && *gotWeight != *tc.wantWeight {
				t.Errorf("check chk weight %v, want %v", deref(gotWeight), deref(tc.wantWeight))
			}
			checkYAML(t, r, path)
		})
	}
}

func ptr(n int) *int { return &n }

func deref(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

func itoa(n int) string { return kaconf.Pos{Line: n}.String()[1:] }

// TestConvertFails: what would not give a valid kdcha configuration is an
// error naming the problem.
func TestConvertFails(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"no realm", "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {\n  192.0.2.10\n }\n}\n", "no realm"},
		{"only VIPs on another device", "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {\n  192.0.2.10 dev eth1\n }\n}\n", "keepalived.conf:1: vrrp_instance VI_1: no virtual_ipaddress kdcha can carry over"},
		{"outside kdcha's range", "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n garp_master_repeat 200\n virtual_ipaddress {\n  192.0.2.10\n }\n}\n", "vrrp.instances[0].garp_master_repeat: must be 1..100"},
		{"IPv4 and IPv6 in one instance", "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {\n  192.0.2.10\n  2001:db8::1\n }\n}\n", "mixes IPv4 and IPv6"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "keepalived.conf")
			if err := os.WriteFile(path, []byte(tc.text), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := kaconf.Parse(path, kaconf.Options{})
			if err != nil {
				t.Fatal(err)
			}
			o := Options{Realm: "EXAMPLE.COM"}
			if tc.name == "no realm" {
				o.Realm = ""
			}
			_, err = Convert(c, o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestCommandLine(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		want string
	}{
		{[]string{"/bin/notify", "MASTER"}, "/bin/notify MASTER"},
		{[]string{"/bin/page", "KDC moved"}, "/bin/page 'KDC moved'"},
		{[]string{"/bin/x", "it's", ""}, `/bin/x 'it'\''s' ''`},
		{[]string{"/bin/x", `a\b`, `"q"`}, `/bin/x 'a\b' '"q"'`},
	} {
		if got := commandLine(tc.argv); got != tc.want {
			t.Errorf("commandLine(%q) = %s, want %s", tc.argv, got, tc.want)
		}
	}
}
