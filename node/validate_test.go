package node

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// checkBase is a configuration CheckConfig accepts on any Linux host (its
// instance lives on lo); each case of TestCheckConfigReportsFileLineKey
// breaks one line of it. DIR is the test's directory.
const checkBase = `realm: EXAMPLE.COM
node:
  name: kdc1
  data_dir: DIR/data
  admin_socket: DIR/run/admin.sock
kdc:
  listen: ["127.0.0.1:8888"]
vrrp:
  instances:
    - name: VI_1
      interface: lo
      vrid: 51
      priority: 100
      virtual_ipaddresses: [192.0.2.10/24]
health:
  checks:
    - name: disk
      type: script
      script: [DIR/check.sh, --quick]
notify:
  webhooks:
    - url: https://hooks.example/kdcha
      secret_file: DIR/webhook.secret
  scripts:
    VI_1:
      notify: DIR/notify.sh
`

// checkDir makes the files checkBase names, with safe modes.
func checkDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"data/db", "data/cluster", "run"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for name, mode := range map[string]os.FileMode{"check.sh": 0o755, "notify.sh": 0o755, "webhook.secret": 0o600} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// writeCheckConfig writes yaml with DIR replaced and returns its path.
func writeCheckConfig(t *testing.T, dir, yaml string) string {
	t.Helper()
	path := filepath.Join(dir, "kdcha.yaml")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(yaml, "DIR", dir)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCheckConfigAcceptsBase(t *testing.T) {
	dir := checkDir(t)
	if _, err := CheckConfig(writeCheckConfig(t, dir, checkBase)); err != nil {
		t.Fatalf("CheckConfig(base) = %v", err)
	}
}

// TestCheckConfigReportsFileLineKey: each broken config is reported as
// exactly one problem, FILE:LINE: key: message, at the line to fix.
func TestCheckConfigReportsFileLineKey(t *testing.T) {
	cases := []struct {
		name     string
		old, new string                   // replaced in checkBase
		setup    func(*testing.T, string) // breaks a file in the directory
		line     int                      // 0: the key is not in the file
		key, msg string
	}{
		{name: "missing webhook secret_file", old: "DIR/webhook.secret", new: "DIR/nosuch.secret",
			line: 23, key: "notify.webhooks[0].secret_file", msg: "no such file"},
		{name: "world-readable secret_file", setup: chmod("webhook.secret", 0o644),
			line: 23, key: "notify.webhooks[0].secret_file", msg: "accessible to group or others"},
		{name: "missing notify script", old: "DIR/notify.sh", new: "DIR/nosuch.sh",
			line: 26, key: "notify.scripts.VI_1.notify", msg: "no such file"},
		{name: "relative notify script", old: "DIR/notify.sh", new: "notify.sh",
			line: 26, key: "notify.scripts.VI_1.notify", msg: "not an absolute path"},
		{name: "non-executable notify script", setup: chmod("notify.sh", 0o644),
			line: 26, key: "notify.scripts.VI_1.notify", msg: "not executable"},
		{name: "notify for a missing instance", old: "    VI_1:\n", new: "    VI_2:\n",
			line: 25, key: "notify.scripts.VI_2", msg: `no vrrp instance is named "VI_2" (instances: VI_1)`},
		{name: "missing check script", old: "DIR/check.sh", new: "DIR/nosuch.sh",
			line: 19, key: "health.checks[0].script", msg: "no such file"},
		{name: "missing interface", old: "interface: lo", new: "interface: kdchanope0",
			line: 11, key: "vrrp.instances[0].interface", msg: "kdchanope0"},
		{name: "advert source not local", old: "priority: 100", new: "unicast_src_ip: 198.51.100.9",
			line: 13, key: "vrrp.instances[0].unicast_src_ip", msg: "not an address of interface lo"},
		{name: "kdc listen not local", old: "127.0.0.1:8888", new: "198.51.100.9:88",
			line: 7, key: "kdc.listen[0]", msg: "not an address of this host"},
		{name: "admin socket in /tmp", old: "DIR/run/admin.sock", new: "/tmp/kdcha-admin.sock",
			line: 5, key: "node.admin_socket", msg: "writable by group or others"},
		{name: "lowercase realm", old: "realm: EXAMPLE.COM", new: "realm: example.com",
			line: 1, key: "realm", msg: `use "EXAMPLE.COM"`},
		{name: "duplicate vrid", old: "[192.0.2.10/24]\n", new: "[192.0.2.10/24]\n    - {name: VI_2, interface: lo, vrid: 51, virtual_ipaddresses: [192.0.2.11]}\n",
			line: 15, key: "vrrp.instances[1].vrid", msg: "51 already used on interface lo"},
		{name: "priority out of range", old: "priority: 100", new: "priority: 300",
			line: 13, key: "vrrp.instances[0].priority", msg: "must be 1..255"},
		{name: "check interval out of range", old: "type: script\n", new: "type: script\n      interval: 2h\n",
			line: 19, key: "health.checks[0].interval", msg: "outside"},
		{name: "readable master key", setup: chmod("data/db/master.key", 0o644),
			key: "database.master_key_file", msg: "accessible to group or others"},
		{name: "readable cluster TLS key", setup: chmod("data/cluster/node.key", 0o640),
			line: 4, key: "node.data_dir", msg: "cluster key: DIR/data/cluster/node.key is accessible to group or others"},
		{name: "empty file", old: checkBase, new: "",
			key: "realm", msg: "required"},
		{name: "unknown key", old: "  name: kdc1", new: "  nmae: kdc1",
			line: 3, key: "node.nmae", msg: "unknown key"},
		{name: "bad duration", old: "type: script\n", new: "type: script\n      timeout: soon\n",
			line: 19, key: "health.checks[0].timeout", msg: "cannot unmarshal"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := checkDir(t)
			if c.setup != nil {
				c.setup(t, dir)
			}
			yaml := checkBase
			if c.old != "" {
				if !strings.Contains(yaml, c.old) {
					t.Fatalf("%q is not in the base config", c.old)
				}
				yaml = strings.Replace(yaml, c.old, c.new, 1)
			}
			path := writeCheckConfig(t, dir, yaml)
			_, err := CheckConfig(path)
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("CheckConfig = %v, want a *ConfigError", err)
			}
			if len(ce.Problems) != 1 {
				t.Fatalf("%d problems, want 1:\n%v", len(ce.Problems), err)
			}
			p := ce.Problems[0]
			msg := strings.ReplaceAll(c.msg, "DIR", dir)
			if p.File != path || p.Line != c.line || p.Key != c.key || !strings.Contains(p.Msg, msg) {
				t.Errorf("problem %q\nwant %s:%d: %s: ...%s...", p, path, c.line, c.key, msg)
			}
			want := path + ":" + strconv.Itoa(c.line) + ": " + c.key + ": "
			if c.line == 0 {
				want = path + ": " + c.key + ": "
			}
			if !strings.HasPrefix(p.String(), want) {
				t.Errorf("printed %q, want prefix %q", p, want)
			}
		})
	}
}

// TestCheckConfigReportsAllProblemsAtOnce: one run names every problem,
// in file order within each kind of check, not only the first.
func TestCheckConfigReportsAllProblemsAtOnce(t *testing.T) {
	dir := checkDir(t)
	chmod("webhook.secret", 0o644)(t, dir)
	yaml := checkBase
	for old, new := range map[string]string{
		"realm: EXAMPLE.COM": "realm: example.com",
		"interface: lo":      "interface: kdchanope0",
		"DIR/notify.sh":      "notify.sh",
		"DIR/check.sh":       "DIR/nosuch.sh",
	} {
		yaml = strings.Replace(yaml, old, new, 1)
	}
	path := writeCheckConfig(t, dir, yaml)
	_, err := CheckConfig(path)
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("CheckConfig = %v, want a *ConfigError", err)
	}
	got := map[string]int{}
	for _, p := range ce.Problems {
		got[p.Key] = p.Line
	}
	want := map[string]int{
		"realm":                          1,
		"vrrp.instances[0].interface":    11,
		"notify.webhooks[0].secret_file": 23,
		"notify.scripts.VI_1.notify":     26,
		"health.checks[0].script":        19,
	}
	if len(ce.Problems) != len(want) {
		t.Errorf("%d problems, want %d:\n%v", len(ce.Problems), len(want), err)
	}
	for k, line := range want {
		if got[k] != line {
			t.Errorf("%s: line %d, want %d\n%v", k, got[k], line, err)
		}
	}
	if first := strings.SplitN(err.Error(), "\n", 2)[0]; first != "config "+path+": 5 problems:" {
		t.Errorf("header %q", first)
	}
}

// chmod returns a setup that gives the file name under the test's
// directory mode, creating it if needed.
func chmod(name string, mode os.FileMode) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err != nil {
			if err := os.WriteFile(p, []byte("key"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzLoadConfig: any file gives a config or a *ConfigError (never a
// panic), and every problem points into the file it names.
func FuzzLoadConfig(f *testing.F) {
	f.Add(strings.ReplaceAll(checkBase, "DIR", "/nonexistent"))
	f.Add("realm: r\nkdc:\n  listn: [1]\n")
	f.Add("vrrp:\n  instances:\n    - {name: a, vrid: x, bogus: 1}\n")
	f.Add("realm: [\n")
	f.Add("\r0")
	f.Fuzz(func(t *testing.T, yaml string) {
		path := filepath.Join(t.TempDir(), "kdcha.yaml")
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := LoadConfig(path)
		if (cfg == nil) == (err == nil) {
			t.Fatalf("LoadConfig = %v, %v: want exactly one", cfg, err)
		}
		var ce *ConfigError
		if err == nil || !errors.As(err, &ce) {
			return
		}
		// Line breaks as YAML counts them.
		lines := 1
		for _, br := range []string{"\n", "\r", "\u0085", "\u2028", "\u2029"} {
			lines += strings.Count(strings.ReplaceAll(yaml, "\r\n", "\n"), br)
		}
		for _, p := range ce.Problems {
			if p.File != path || p.Line < 0 || p.Line > lines {
				t.Errorf("problem %q outside %s (%d lines)", p, path, lines)
			}
		}
	})
}

// TestReloadFileRunsEveryCheck: a SIGHUP reload goes through CheckConfig,
// so a file the agent would refuse at start (here: a notify script that
// does not exist) is refused by name and line, and nothing changes.
func TestReloadFileRunsEveryCheck(t *testing.T) {
	cfg := testConfig(t, testInstance("VI_1", 51, 150, "192.0.2.10/24"))
	h := newHarness(t, cfg, false)
	h.mustStart()
	dir := checkDir(t)
	path := writeCheckConfig(t, dir, strings.Replace(checkBase, "DIR/notify.sh", "DIR/nosuch.sh", 1))
	err := h.node.ReloadFile(context.Background(), path)
	if want := path + ":26: notify.scripts.VI_1.notify: "; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("ReloadFile = %v, want %q", err, want)
	}
	if ok, msg := h.lastReload(); ok || msg != err.Error() {
		t.Errorf("last_reload ok=%v %q, want the error", ok, msg)
	}
	if h.node.cfg != cfg {
		t.Error("a refused reload changed the running configuration")
	}
}

// TestLoadConfigReportsNotifyForMissingInstance: the notify instance
// reference needs nothing of the host, so LoadConfig (cluster init, vip
// release) refuses it too, not only the agent's CheckConfig.
func TestLoadConfigReportsNotifyForMissingInstance(t *testing.T) {
	dir := checkDir(t)
	path := writeCheckConfig(t, dir, strings.Replace(checkBase, "VI_1:", "VI_2:", 1))
	_, err := LoadConfig(path)
	if err == nil || !strings.Contains(err.Error(), `notify.scripts.VI_2: no vrrp instance is named "VI_2"`) {
		t.Fatalf("LoadConfig = %v, want the notify instance reference refused", err)
	}
}
