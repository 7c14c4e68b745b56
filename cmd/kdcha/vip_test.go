package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestVIPReleaseAfterSIGKILL plays systemd's ExecStopPost= after a crash:
// a single-node agent holds the VIP, is SIGKILLed (so it removes nothing
// itself), and `kdcha vip release` removes the VIP and only the VIP. It
// logs the time from the kill to the VIP being gone (issue 9's figure).
func TestVIPReleaseAfterSIGKILL(t *testing.T) {
	requireNetns(t)
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
  admin_socket: %s/admin.sock
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
	addrs := func() string {
		out, err := exec.Command("ip", "-n", srv, "addr", "show", "dev", ifname).CombinedOutput()
		if err != nil {
			t.Fatalf("ip addr: %v\n%s", err, out)
		}
		return string(out)
	}
	release := func() string {
		t.Helper()
		out, err := exec.Command("ip", "netns", "exec", srv, kdchaBin, "vip", "release", "--config", cfgPath).CombinedOutput()
		if err != nil {
			t.Fatalf("vip release: %v\n%s", err, out)
		}
		return string(out)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	agent := exec.CommandContext(ctx, "ip", "netns", "exec", srv, kdchaBin, "agent", "--config", cfgPath)
	logs := &syncBuffer{}
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

	// ip netns exec execs the agent, so this is the agent's PID.
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
