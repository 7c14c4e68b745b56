package main

import (
	"encoding/json"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kdcha/kdcha/admin"
	"github.com/kdcha/kdcha/internal/scenario"
)

// status asks the node's agent for `kdcha status --json`.
func (n *haNode) status(t *testing.T) admin.NodeStatus {
	t.Helper()
	out, err := exec.Command(kdchaBin, "status", "--json", "--admin-socket", filepath.Join(filepath.Dir(n.cfgPath), "admin.sock")).Output()
	if err != nil {
		t.Fatalf("%s status: %v", n.name, err)
	}
	var v admin.NodeStatus
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("%s status: %v\n%s", n.name, err, out)
	}
	return v
}

// reload writes cfg as the node's configuration, sends SIGHUP and waits
// for the reload's outcome in `kdcha status`.
func (n *haNode) reload(t *testing.T, cfg string) admin.ReloadStatus {
	t.Helper()
	var before time.Time
	if r := n.status(t).LastReload; r != nil {
		before = r.Time
	}
	if err := os.WriteFile(n.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := n.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if r := n.status(t).LastReload; r != nil && r.Time.After(before) {
			return *r
		}
	}
	t.Fatalf("%s: no reload outcome in status after SIGHUP", n.name)
	return admin.ReloadStatus{}
}

// TestSIGHUPReloadKeepsVIP: SIGHUP to the master reloads a new health
// check and a lower priority (still the highest) without the VIP ever
// leaving it; an invalid configuration is refused, shown in status, and
// the running one stays. Before, SIGHUP killed the agent.
func TestSIGHUPReloadKeepsVIP(t *testing.T) {
	l := newHALAN(t)
	n1, n2 := l.startPair("")
	watch, err := scenario.WatchVIP(n1.ns, n1.name, netip.MustParseAddr(testVIP))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(watch.Close)
	orig, err := os.ReadFile(n1.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(orig), "priority: 150", "priority: 140", 1) +
		"health:\n  checks:\n    - name: extra\n      type: script\n      script: [/bin/true]\n"
	if r := n1.reload(t, cfg); !r.OK {
		t.Fatalf("reload refused: %s", r.Error)
	}
	st := n1.status(t)
	if len(st.VRRP) != 1 || st.VRRP[0].Priority != 140 || st.VRRP[0].State != "MASTER" {
		t.Errorf("after reload: vrrp %+v, want MASTER at priority 140", st.VRRP)
	}
	hasExtra := false
	for deadline := time.Now().Add(5 * time.Second); !hasExtra && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if h := n1.status(t).Health; h != nil {
			for _, c := range h.Checks {
				hasExtra = hasExtra || (c.Name == "extra" && c.State == "up")
			}
		}
	}
	if !hasExtra {
		t.Errorf("the reloaded health check does not run: %+v", n1.status(t).Health)
	}

	// Invalid: refused, named, and the running configuration stays.
	r := n1.reload(t, strings.Replace(cfg, "priority: 140", "priority: 0", 1))
	if r.OK || !strings.Contains(r.Error, "priority") {
		t.Errorf("invalid reload: %+v, want refused naming priority", r)
	}
	// A key that needs a restart: refused by name.
	r = n1.reload(t, strings.Replace(cfg, "realm: HA.TEST", "realm: OTHER.TEST", 1))
	if r.OK || !strings.Contains(r.Error, "realm") || !strings.Contains(r.Error, "restart") {
		t.Errorf("realm change: %+v, want refused naming realm", r)
	}
	if st := n1.status(t); len(st.VRRP) != 1 || st.VRRP[0].Priority != 140 {
		t.Errorf("after refused reloads: vrrp %+v, want priority 140", st.VRRP)
	}
	if err := l.clientKinit(); err != nil {
		t.Errorf("kinit through the VIP after reloads: %v", err)
	}
	l.holder(time.Second, n1)
	removed := 0
	for _, e := range watch.Events() {
		if !e.Added {
			removed++
		}
	}
	if removed != 0 {
		t.Errorf("the VIP left the master %d times during the reloads", removed)
	}
	if n2.holds() {
		t.Error("the backup took the VIP")
	}
}
