package kaconf

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
)

const mainFile = "/etc/keepalived/keepalived.conf"

// instanceText wraps body in a minimal valid instance.
func instanceText(body string) string {
	return "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {\n  192.0.2.10/24\n }\n" + body + "\n}\n"
}

func TestParseDefaults(t *testing.T) {
	c, err := parseMem(t, instanceText("")+"vrrp_script chk {\n script /bin/true\n}\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	in := c.Instances[0]
	if in.Priority != 100 || in.AdvertInt != time.Second || in.Version != 2 || in.State != "" || in.NoPreempt {
		t.Errorf("instance defaults: priority %d advert_int %v version %d state %q nopreempt %v; want 100 1s 2 \"\" false", in.Priority, in.AdvertInt, in.Version, in.State, in.NoPreempt)
	}
	if in.Pos != (Pos{mainFile, 1}) {
		t.Errorf("instance pos %v", in.Pos)
	}
	s := c.Scripts[0]
	if s.Interval != time.Second || s.Timeout != 0 || s.Rise != 1 || s.Fall != 1 || s.Weight != 0 {
		t.Errorf("script defaults: %+v", s)
	}
}

// TestParseTricky is a table of inputs keepalived accepts and what they
// mean.
func TestParseTricky(t *testing.T) {
	for _, tc := range []struct {
		name  string
		text  string
		files memFS
		check func(t *testing.T, c *Config)
	}{
		{
			name: "comments, escaped comment characters and quoted ones",
			text: "! header\n# another\nglobal_defs { # trailing\n router_id kdc\\#1 ! why\n}\n" +
				instanceText(` authentication {
  auth_type PASS
  auth_pass "pa#ss!"   # quoted: not a comment
 }`),
			check: func(t *testing.T, c *Config) {
				if c.Global.RouterID != "kdc#1" {
					t.Errorf("router_id %q, want kdc#1", c.Global.RouterID)
				}
				if a := c.Instances[0].Auth; a == nil || a.Type != "PASS" || a.Pass != "pa#ss!" {
					t.Errorf("auth %+v, want PASS pa#ss!", a)
				}
			},
		},
		{
			name: "script command lines: quotes, single quotes, escapes, user",
			text: instanceText(` notify "/usr/local/bin/notify --msg 'KDC moved' \"x y\"" kdcnotify kdc
 notify_master /bin/echo
 notify_backup "/bin/printf a\tb"`),
			check: func(t *testing.T, c *Config) {
				n := c.Instances[0].Notify
				// As in keepalived, an escaped double quote is a literal
				// character, not a quote.
				if got := strings.Join(n.Notify.Argv, "|"); got != `/usr/local/bin/notify|--msg|KDC moved|"x|y"` || n.Notify.User != "kdcnotify" || n.Notify.Group != "kdc" {
					t.Errorf("notify argv %q user %q group %q", got, n.Notify.User, n.Notify.Group)
				}
				if got := strings.Join(n.Master.Argv, "|"); got != "/bin/echo" {
					t.Errorf("notify_master %q", got)
				}
				if got := strings.Join(n.Backup.Argv, "|"); got != "/bin/printf|a\tb" {
					t.Errorf("notify_backup %q, want the \\t decoded", got)
				}
			},
		},
		{
			name: "braces on the next line, on one line, and a line continuation",
			text: "vrrp_instance VI_1\n{\n interface eth0\n virtual_router_id \\\n  51\n virtual_ipaddress { 192.0.2.10/24 dev eth0 label eth0:kdc scope global }\n unicast_peer\n {\n  192.0.2.2 min_ttl 250\n }\n}\n",
			check: func(t *testing.T, c *Config) {
				in := c.Instances[0]
				if in.VRID != 51 || len(in.VIPs) != 1 || len(in.UnicastPeers) != 1 || in.UnicastPeers[0] != "192.0.2.2" {
					t.Fatalf("instance %+v", in)
				}
				if v := in.VIPs[0]; v.Address != "192.0.2.10/24" || v.Dev != "eth0" || v.Label != "eth0:kdc" || v.Scope != "global" || v.Pos.Line != 6 {
					t.Errorf("vip %+v", v)
				}
				if len(c.Ignored) != 1 || c.Ignored[0].Pos.Line != 9 || !strings.Contains(c.Ignored[0].What, "min_ttl") {
					t.Errorf("ignored %+v, want the per-peer TTL at line 9", c.Ignored)
				}
			},
		},
		{
			name: "includes: relative to the including file, globs in order, empty glob",
			text: "include conf.d/*.conf\ninclude /nowhere/*.conf\n" + instanceText(" track_script {\n  chk_b weight -50\n }"),
			files: memFS{
				"/etc/keepalived/conf.d/b.conf":      "vrrp_script chk_b {\n script /bin/b\n}\n",
				"/etc/keepalived/conf.d/a.conf":      "include ../common/scripts.inc\n",
				"/etc/keepalived/common/scripts.inc": "vrrp_script chk_a {\n script /bin/a\n weight 10 reverse\n}\n",
			},
			check: func(t *testing.T, c *Config) {
				if len(c.Scripts) != 2 || c.Scripts[0].Name != "chk_a" || c.Scripts[1].Name != "chk_b" {
					t.Fatalf("scripts %+v, want chk_a (a.conf) then chk_b", c.Scripts)
				}
				if p := c.Scripts[0].Pos; p != (Pos{"/etc/keepalived/common/scripts.inc", 1}) {
					t.Errorf("chk_a at %v", p)
				}
				if !c.Scripts[0].Reverse || c.Scripts[0].Weight != 10 {
					t.Errorf("chk_a weight %d reverse %v", c.Scripts[0].Weight, c.Scripts[0].Reverse)
				}
				tr := c.Instances[0].TrackScripts
				if len(tr) != 1 || tr[0].Weight == nil || *tr[0].Weight != -50 {
					t.Errorf("track_script %+v", tr)
				}
			},
		},
		{
			name: "unknown keywords and LVS sections are reported with their line",
			text: "virtual_server 192.0.2.10 88 {\n lb_algo rr\n}\nfrobnicate 1\n" + instanceText(" use_vmac\n smtp_alert\n track_script {\n  missing\n }"),
			check: func(t *testing.T, c *Config) {
				want := []string{"1 virtual_server 192.0.2.10 88", "4 frobnicate 1", "11 vrrp_instance VI_1: use_vmac", "12 vrrp_instance VI_1: smtp_alert", "14 vrrp_instance VI_1: track_script missing"}
				var got []string
				for _, ig := range c.Ignored {
					if ig.Why == "" || ig.Pos.File != mainFile {
						t.Errorf("ignored without a reason or file: %+v", ig)
					}
					got = append(got, strings.Join([]string{itoa(ig.Pos.Line), ig.What}, " "))
				}
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("ignored:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
			},
		},
		{
			name: "advert_int fractions with version 3, from global_defs or IPv6",
			text: "global_defs {\n vrrp_version 3\n}\n" + instanceText(" advert_int 0.25") +
				"vrrp_instance VI_6 {\n interface eth0\n virtual_router_id 52\n advert_int 0.1\n virtual_ipaddress {\n  2001:db8::10/64\n }\n}\n",
			check: func(t *testing.T, c *Config) {
				for i, want := range []time.Duration{250 * time.Millisecond, 100 * time.Millisecond} {
					if in := c.Instances[i]; in.AdvertInt != want || in.Version != 3 {
						t.Errorf("%s: advert_int %v version %d, want %v 3", in.Name, in.AdvertInt, in.Version, want)
					}
				}
			},
		},
		{
			name: "sync group with its members",
			text: instanceText("") + "vrrp_sync_group G {\n group {\n  VI_1\n }\n notify_master /bin/true\n}\n",
			check: func(t *testing.T, c *Config) {
				if len(c.SyncGroups) != 1 || strings.Join(c.SyncGroups[0].Group, ",") != "VI_1" || c.SyncGroups[0].Notify.Master == nil {
					t.Errorf("sync groups %+v", c.SyncGroups)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseMem(t, tc.text, tc.files)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func itoa(n int) string { return Pos{Line: n}.String()[1:] }

var posPrefix = regexp.MustCompile(`^/etc/keepalived/[a-z./]+:\d+: `)

// TestParseErrors: every error names file:line, and all problems in the
// statements are reported at once.
func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		text  string
		files memFS
		want  []string // one per error, in order
	}{
		{"fractional advert_int on VRRPv2", instanceText(" advert_int 0.5"), nil,
			[]string{"keepalived.conf:7: advert_int 0.5: VRRPv2 takes whole seconds"}},
		{"advert_int below 10ms steps on v3", instanceText(" version 3\n advert_int 0.015"), nil,
			[]string{"keepalived.conf:8: advert_int 0.015: VRRPv3 takes 0.01..40.95 seconds"}},
		{"several bad values", instanceText(" priority 300\n state LEADER\n virtual_router_id 0"), nil,
			[]string{"keepalived.conf:7: priority:", "keepalived.conf:8: state:", "keepalived.conf:9: virtual_router_id:"}},
		{"missing required keys", "vrrp_instance VI_1 {\n priority 100\n}\n", nil,
			[]string{"keepalived.conf:1: vrrp_instance VI_1: no interface", "keepalived.conf:1: vrrp_instance VI_1: no virtual_router_id"}},
		{"conditional line", "@kdc1 global_defs {\n}\n", nil, []string{"keepalived.conf:1: conditional line \"@kdc1\" is not supported"}},
		{"parameter definition", "$IF=eth0\n", nil, []string{"keepalived.conf:1: parameter \"$IF=eth0\" is not supported"}},
		{"unterminated quote", "global_defs {\n router_id \"kdc1\n}\n", nil, []string{"keepalived.conf:2: unterminated quote"}},
		{"stray closing brace", instanceText("") + "}\n", nil, []string{"keepalived.conf:9: \"}\" without an open block"}},
		{"block not closed", "global_defs {\n router_id x\n" + instanceText(""), nil, []string{"keepalived.conf:1: block \"global_defs\" is not closed"}},
		{"brace without a keyword", "{\n}\n", nil, []string{"keepalived.conf:1: \"{\" without a keyword"}},
		{"missing literal include", "global_defs {\n}\ninclude extra.conf\n", nil, []string{"keepalived.conf:3: open /etc/keepalived/extra.conf"}},
		{"include loop", "include a.conf\n", memFS{"/etc/keepalived/a.conf": "include b.conf\n", "/etc/keepalived/b.conf": "\n\ninclude a.conf\n"},
			[]string{"b.conf:3: include loop: /etc/keepalived/a.conf -> /etc/keepalived/b.conf -> /etc/keepalived/a.conf"}},
		{"include variant", "includer a.conf\n", nil, []string{"keepalived.conf:1: \"includer\" is not supported"}},
		{"track_script weight out of range", instanceText(" track_script {\n  chk weight -300\n }") + "vrrp_script chk {\n script /bin/true\n}\n", nil,
			[]string{"keepalived.conf:8: track_script chk: weight \"-300\" is not an integer in -253..253"}},
		{"duplicate instance", instanceText("") + instanceText(""), nil, []string{"keepalived.conf:9: vrrp_instance VI_1: already defined at /etc/keepalived/keepalived.conf:1"}},
		{"script without a command", "vrrp_script chk {\n interval 2\n}\n", nil, []string{"keepalived.conf:1: vrrp_script chk: no script"}},
		{"sync group with an unknown member", "vrrp_sync_group G {\n group {\n  VI_X\n }\n}\n", nil, []string{"keepalived.conf:1: vrrp_sync_group G: no vrrp_instance VI_X"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseMem(t, tc.text, tc.files)
			if err == nil {
				t.Fatal("parsed without error")
			}
			errs := leaves(err)
			if len(errs) != len(tc.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(tc.want), err)
			}
			for i, e := range errs {
				var pe *Error
				if !errors.As(e, &pe) || !posPrefix.MatchString(e.Error()) {
					t.Errorf("error %q does not start with file:line", e)
				}
				if !strings.Contains(e.Error(), tc.want[i]) {
					t.Errorf("error %q, want it to contain %q", e, tc.want[i])
				}
			}
		})
	}
}

func leaves(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
