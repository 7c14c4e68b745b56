package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kdcha/kdcha/health"
	"github.com/kdcha/kdcha/node"
)

// runImportKeepalived runs `kdcha import keepalived ARGS...` in process and
// returns its stderr.
func runImportKeepalived(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCommand()
	var stdout, stderr bytes.Buffer
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	root.SetArgs(append([]string{"import", "keepalived"}, args...))
	err := root.Execute()
	return stderr.String(), err
}

// TestImportKeepalivedSeedLoads converts the seed (MIT krb5kdc behind
// keepalived, two nodes) and loads the result with the agent's own loader:
// a converted file is a valid agent configuration.
func TestImportKeepalivedSeedLoads(t *testing.T) {
	for _, host := range []string{"kdc1", "kdc2"} {
		t.Run(host, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "kdcha.yaml")
			stderr, err := runImportKeepalived(t, filepath.Join("../../kaimport/testdata/seed", host, "keepalived.conf"), "-o", out)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := node.LoadConfig(out)
			if err != nil {
				b, _ := os.ReadFile(out)
				t.Fatalf("%v\n%s", err, b)
			}
			if cfg.Mode != node.ModeKeepalived || cfg.Realm != "EXAMPLE.COM" || cfg.Node.Name != host || len(cfg.VRRP.Instances) != 2 || len(cfg.Health.Checks) != 2 || len(cfg.Notify.Scripts) != 2 {
				t.Errorf("loaded %+v", cfg)
			}
			if c := cfg.Health.Checks[0]; c.Type != health.CheckKinit || c.KDC != "127.0.0.1:88" || *c.Weight != -50 || c.Interval != 2*time.Second {
				t.Errorf("kinit check %+v", c)
			}
			for _, want := range []string{
				"check: health check chk_krb5kdc probes the KDC at 127.0.0.1:88",
				"check: ../../kaimport/testdata/seed/" + host + "/keepalived.conf:",
				"a tie with the backup's priority 100",
				"not carried over: ../../kaimport/testdata/seed/" + host + "/keepalived.conf:27: vrrp_instance VI_KDC_A: authentication (auth_type PASS): kdcha sends and accepts no VRRP authentication",
				"not carried over: ../../kaimport/testdata/seed/" + host + "/keepalived.conf:72: virtual_server 192.0.2.12 749: LVS/IPVS",
			} {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr does not say %q:\n%s", want, stderr)
				}
			}
			if _, err := runImportKeepalived(t, filepath.Join("../../kaimport/testdata/seed", host, "keepalived.conf"), "-o", out); err == nil || !strings.Contains(err.Error(), "already exists") {
				t.Errorf("converting over an existing file: %v, want a refusal", err)
			}
		})
	}
}

// TestImportKeepalivedVariantsLoad converts configurations unlike the seed
// (VRRPv3 with fractional adverts, IPv6, nopreempt, script checks only,
// sync groups) and loads each with the agent's loader.
func TestImportKeepalivedVariantsLoad(t *testing.T) {
	for _, tc := range []struct{ name, text string }{
		{"v3 fractional advert, nopreempt", "global_defs {\n vrrp_version 3\n}\nvrrp_instance VI_1 {\n state BACKUP\n nopreempt\n interface eth0\n virtual_router_id 51\n advert_int 0.2\n virtual_ipaddress {\n  192.0.2.10/24\n }\n}\n"},
		{"IPv6, script check, sync group", "vrrp_script chk {\n script \"/usr/local/bin/check-kdc --fast\"\n interval 1.5\n fall 3\n}\nvrrp_instance VI_6 {\n interface eth0\n virtual_router_id 61\n virtual_ipaddress {\n  2001:db8::10/64\n }\n track_script {\n  chk\n }\n notify_stop \"/bin/logger 'kdc stop'\"\n}\nvrrp_sync_group G {\n group {\n  VI_6\n }\n}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			in, out := filepath.Join(dir, "keepalived.conf"), filepath.Join(dir, "kdcha.yaml")
			if err := os.WriteFile(in, []byte(tc.text), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := runImportKeepalived(t, in, "-o", out, "--realm", "EXAMPLE.COM"); err != nil {
				t.Fatal(err)
			}
			if _, err := node.LoadConfig(out); err != nil {
				b, _ := os.ReadFile(out)
				t.Fatalf("%v\n%s", err, b)
			}
		})
	}
}

// TestImportKeepalivedErrors: a parse error names file:line; a config
// without a realm asks for --realm.
func TestImportKeepalivedErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.conf")
	if err := os.WriteFile(bad, []byte("vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n advert_int 0.5\n virtual_ipaddress {\n  192.0.2.10\n }\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := runImportKeepalived(t, bad, "--realm", "EXAMPLE.COM"); err == nil || !strings.Contains(err.Error(), bad+":4: advert_int 0.5: VRRPv2 takes whole seconds") {
		t.Errorf("fractional v2 advert_int: %v", err)
	}
	good := filepath.Join(dir, "good.conf")
	if err := os.WriteFile(good, []byte("vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {\n  192.0.2.10\n }\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := runImportKeepalived(t, good); err == nil || !strings.Contains(err.Error(), "give it with --realm") {
		t.Errorf("no realm: %v", err)
	}
	if _, err := runImportKeepalived(t, strings.Replace(bad, "bad", "missing", 1)); err == nil || !strings.Contains(err.Error(), "missing.conf:1:") {
		t.Errorf("missing file: %v", err)
	}
}
