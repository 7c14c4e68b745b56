package main

import (
	"fmt"
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
	first := l.addVIPClusterNode("idle1", "192.0.2.1", 150, nil)
	first.start(t)
	nodes := []*haNode{first}
	for i, prio := range []int{100, 50} {
		n := l.addVIPClusterNode(fmt.Sprintf("idle%d", i+2), fmt.Sprintf("192.0.2.%d", i+2), prio, first)
		n.start(t)
		nodes = append(nodes, n)
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
