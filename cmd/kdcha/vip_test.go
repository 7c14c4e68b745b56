package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestVIPReleaseAfterSIGKILL plays systemd's ExecStopPost= after a crash:
// a single-node agent holds the VIP, is SIGKILLed (so it removes nothing
// itself), and `kdcha vip release` removes the VIP and only the VIP. It
// logs the time from the kill to the VIP being gone (issue 9's figure).
// Both run as the unit runs them: an unprivileged user with only the
// unit's ambient capabilities.
func TestVIPReleaseAfterSIGKILL(t *testing.T) {
	requireNetns(t)
	asUnit := unitPrivileges(t)
	srv, _ := newServerClientPair(t)
	ifname := "vS" + srv[6:]
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "kdcha.yaml")
	// Priority 255 (address owner) takes the VIP at once, without waiting
	// out the master-down timer.
	cfg := fmt.Sprintf(`realm: VIP.TEST
node:
  name: n1
  data_dir: %s/data
  admin_socket: %s/run/admin.sock
kdc:
  listen: ["192.0.2.1:88"]
metrics:
  listen: ""
vrrp:
  instances:
    - name: VI_KDC
      interface: %s
      vrid: 51
      priority: 255
      virtual_ipaddresses: [192.0.2.10/24, 198.51.100.10/32]
`, dir, dir, ifname)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(kdchaBin, "cluster", "init", "--config", cfgPath).CombinedOutput(); err != nil {
		t.Fatalf("cluster init: %v\n%s", err, out)
	}
	// What systemd's StateDirectory= and RuntimeDirectory= would do.
	if err := os.Mkdir(filepath.Join(dir, "run"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Dir(dir), dir, cfgPath} {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command("chown", "-R", unitUser, filepath.Join(dir, "data"), filepath.Join(dir, "run")).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v\n%s", err, out)
	}
	addrs := func() string {
		out, err := exec.Command("ip", "-n", srv, "addr", "show", "dev", ifname).CombinedOutput()
		if err != nil {
			t.Fatalf("ip addr: %v\n%s", err, out)
		}
		return string(out)
	}
	release := func() string {
		t.Helper()
		out, err := exec.Command("ip", asUnit(srv, "vip", "release", "--config", cfgPath)...).CombinedOutput()
		if err != nil {
			t.Fatalf("vip release: %v\n%s", err, out)
		}
		return string(out)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	agent := exec.CommandContext(ctx, "ip", asUnit(srv, "agent", "--config", cfgPath)...)
	logs := agentLogs(t, "agent")
	agent.Stderr = logs
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { agent.Wait(); close(done) }()
	defer func() {
		if t.Failed() {
			t.Logf("agent logs:\n%s", logs)
		}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(addrs(), " 198.51.100.10/32 ") {
		if time.Now().After(deadline) {
			t.Fatalf("agent never took the VIPs:\n%s", addrs())
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Without CAP_SYS_ADMIN a netlink subscription that switches namespace
	// fails: the agent would run without link tracking or VIP restoration.
	for _, warn := range []string{"not watching for removed VIPs", "not tracking the interface link"} {
		if strings.Contains(logs.String(), warn) {
			t.Errorf("agent with the unit's capabilities: %q", warn)
		}
	}

	// ip netns exec and setpriv exec the agent, so this is the agent's PID.
	killed := time.Now()
	agent.Process.Signal(syscall.SIGKILL)
	<-done
	reaped := time.Since(killed)
	if !strings.Contains(addrs(), " 192.0.2.10/24 ") {
		t.Fatal("the killed agent removed its VIP itself: nothing left to test")
	}
	out := release()
	gone := time.Since(killed)
	after := addrs()
	for _, vip := range []string{"192.0.2.10/24", "198.51.100.10/32"} {
		if strings.Contains(after, " "+vip+" ") {
			t.Errorf("VIP %s still on %s after release:\n%s", vip, ifname, after)
		}
		if !strings.Contains(out, "vip="+vip) {
			t.Errorf("release did not log removing %s:\n%s", vip, out)
		}
	}
	if !strings.Contains(after, " 192.0.2.1/24 ") {
		t.Errorf("release removed the primary address:\n%s", after)
	}
	t.Logf("SIGKILL to VIP gone: %v (agent reaped after %v, then vip release %v)", gone.Round(time.Millisecond), reaped.Round(time.Millisecond), (gone - reaped).Round(time.Millisecond))

	if out := release(); !strings.Contains(out, "no VIP to release") {
		t.Errorf("second release:\n%s", out)
	}
}

// unitUser is the unprivileged uid:gid the test runs kdcha as (nobody).
const unitUser = "65534:65534"

// unitPrivileges returns the arguments of `ip` that run kdcha with args in
// network namespace ns as unitUser with exactly the ambient capabilities
// of deploy/kdcha.service (read from the unit, so the test follows it) and
// no_new_privs.
func unitPrivileges(t *testing.T) func(ns string, args ...string) []string {
	t.Helper()
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("setpriv (util-linux) not installed")
	}
	unit, err := os.ReadFile("../../deploy/kdcha.service")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^AmbientCapabilities=(.+)$`).FindSubmatch(unit)
	if m == nil {
		t.Fatal("no AmbientCapabilities= in deploy/kdcha.service")
	}
	var caps []string
	for _, c := range strings.Fields(string(m[1])) {
		caps = append(caps, "+"+strings.ToLower(strings.TrimPrefix(c, "CAP_")))
	}
	set := strings.Join(caps, ",")
	uid, gid, _ := strings.Cut(unitUser, ":")
	return func(ns string, args ...string) []string {
		return append([]string{"netns", "exec", ns, "setpriv", "--reuid=" + uid, "--regid=" + gid, "--clear-groups",
			"--inh-caps=" + set, "--ambient-caps=" + set, "--bounding-set=-all," + set, "--no-new-privs", kdchaBin}, args...)
	}
}
