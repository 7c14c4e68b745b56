package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Idle log budget (issue 10): a one-minute idle log of a 3-node cluster at
// the default level is under idleLogLines lines per node.
const (
	idleLogLines  = 20
	idleLogWindow = time.Minute
)

// TestIdleLogVolume runs a production-like 3-node cluster in namespaces:
// Raft over mutual TLS on the LAN, one VRRP instance (100 ms adverts) and
// the built-in kinit self-probe on every node, default log level. After
// startup settles (all voters caught up, one VIP holder, every node
// healthy), each node logs
// fewer than idleLogLines lines in idleLogWindow: nothing periodic at
// info.
func TestIdleLogVolume(t *testing.T) {
	t.Parallel()
	l := newHALAN(t)
	var nodes []*haNode
	for i, prio := range []int{150, 100, 50} {
		name, addr := fmt.Sprintf("idle%d", i+1), fmt.Sprintf("192.0.2.%d", i+1)
		ns := l.attach("kdchaN", addr)
		dir := filepath.Join(l.dir, name)
		os.MkdirAll(dir, 0o700)
		n := &haNode{name: name, ns: ns, addr: addr, cfgPath: filepath.Join(dir, "kdcha.yaml")}
		cfg := fmt.Sprintf(`realm: HA.TEST
node:
  name: %[1]s
  data_dir: %[2]s/data
  admin_socket: %[2]s/admin.sock
kdc:
  listen: ["0.0.0.0:88"]
metrics:
  listen: ""
cluster:
  listen: %[3]s:7946
vrrp:
  instances:
    - name: VI_KDC
      interface: eth0
      vrid: 51
      priority: %[4]d
      version: 3
      advert_interval: 100ms
      virtual_ipaddresses: [%[5]s/24]
`, name, dir, addr, prio, testVIP)
		if err := os.WriteFile(n.cfgPath, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		l.nodes[name] = n
		nodes = append(nodes, n)
	}
	inNS := func(n *haNode, args ...string) string {
		t.Helper()
		out, err := exec.Command("ip", append([]string{"netns", "exec", n.ns, kdchaBin}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: kdcha %s: %v\n%s", n.name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	first := nodes[0]
	inNS(first, "cluster", "init", "--config", first.cfgPath)
	first.start(t)
	for _, n := range nodes[1:] {
		token := strings.TrimSpace(inNS(first, "cluster", "token", "--config", first.cfgPath))
		inNS(n, "cluster", "join", first.addr+":7946", "--token", token, "--config", n.cfgPath)
		n.start(t)
	}
	admin := &clusterNode{name: first.name, dir: filepath.Dir(first.cfgPath)}
	waitVoters(t, admin, len(nodes))
	l.holder(10*time.Second, first)
	// Settled also means every node's health checks have come up: their
	// first transitions are startup, not idle, logging.
	for _, n := range nodes {
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			if h := n.status(t).Health; h != nil && !h.Pending && h.Delta == 0 && !h.Fault {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s health did not settle: %+v", n.name, n.status(t).Health)
			}
		}
	}

	start := make([]int, len(nodes))
	for i, n := range nodes {
		start[i] = len(n.logs.String())
	}
	time.Sleep(idleLogWindow)
	for i, n := range nodes {
		idle := n.logs.String()[start[i]:]
		lines := strings.Count(idle, "\n")
		t.Logf("%s: %d lines in %v idle:\n%s", n.name, lines, idleLogWindow, idle)
		if lines >= idleLogLines {
			t.Errorf("%s logged %d lines in %v idle, want under %d", n.name, lines, idleLogWindow, idleLogLines)
		}
	}
	if h := l.holder(time.Second, nil); h != first {
		t.Errorf("the VIP moved to %s while idle", h.name)
	}
}
