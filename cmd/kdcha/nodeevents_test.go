package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// nodeEventLog is the file n's notify.node script appends its arguments
// to, one event per line.
func (n *clusterNode) nodeEventLog() string { return filepath.Join(n.dir, "node-events.log") }

// nodeEvents returns the lines of n's node script log with the prefix.
func (n *clusterNode) nodeEvents(t *testing.T, prefix string) []string {
	t.Helper()
	b, err := os.ReadFile(n.nodeEventLog())
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for l := range strings.SplitSeq(string(b), "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

// leaderOf is the Raft leader n follows ("" if none).
func (n *clusterNode) leaderOf(t *testing.T) string {
	t.Helper()
	return n.status(t).Self.LeaderID
}

// TestNodeEventsCluster: on a 3-node cluster with a notify.node script, a
// health check of one node going DOWN and UP is reported by that node;
// stopping the leader gives each survivor exactly one LEADER CHANGED
// naming the new leader (and no quorum event: an election is not a loss);
// stopping a second node gives the last one QUORUM LOST after the grace,
// and restarting one gives it QUORUM RESTORED.
func TestNodeEventsCluster(t *testing.T) {
	root := t.TempDir()
	script := filepath.Join(root, "node-event.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nlog=$1; shift\necho \"$*|$KDCHA_TYPE|$KDCHA_PREVIOUS_LEADER\" >> \"$log\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var nodes []*clusterNode
	for _, name := range []string{"n1", "n2", "n3"} {
		n := newClusterNode(t, root, name)
		f, err := os.OpenFile(n.cfgPath, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(f, "notify:\n  node: %s %s\n", script, n.nodeEventLog())
		// A check that fails while the file "down" exists in the node's
		// dir; a second between runs leaves a loaded machine room to start
		// the shell in time, so it never fails by itself.
		fmt.Fprintf(f, "health:\n  checks:\n    - {name: flag, type: script, script: [/bin/sh, -c, 'test ! -e %s/down'], interval: 1s, timeout: 1s, rise: 1, fall: 1}\n", n.dir)
		f.Close()
		nodes = append(nodes, n)
	}
	first := nodes[0]
	first.must(t, "", "cluster", "init", "--config", first.cfgPath)
	first.start(t)
	for _, n := range nodes[1:] {
		token := strings.TrimSpace(first.must(t, "", "cluster", "token", "--config", first.cfgPath))
		n.must(t, "", "cluster", "join", first.clusterAddr, "--token", token, "--config", n.cfgPath)
		n.start(t)
	}
	waitVoters(t, first, 3)

	// A check going down and up on a node that is no VRRP master (these
	// nodes run no VRRP at all) is reported by that node alone.
	flagged := nodes[2]
	down := filepath.Join(flagged.dir, "down")
	if err := os.WriteFile(down, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "HEALTH flag DOWN", func() bool { return len(flagged.nodeEvents(t, "HEALTH flag")) > 0 })
	os.Remove(down)
	waitFor(t, "HEALTH flag UP", func() bool { return len(flagged.nodeEvents(t, "HEALTH flag")) > 1 })
	if evs := flagged.nodeEvents(t, "HEALTH flag"); len(evs) != 2 || evs[0] != "HEALTH flag DOWN "+flagged.name+"|health|" || evs[1] != "HEALTH flag UP "+flagged.name+"|health|" {
		t.Fatalf("%s health events %q, want flag DOWN then UP", flagged.name, evs)
	}
	for _, n := range nodes[:2] {
		if evs := n.nodeEvents(t, "HEALTH flag"); len(evs) != 0 {
			t.Fatalf("%s reports another node's check: %q", n.name, evs)
		}
	}

	old := first.leaderOf(t)
	var leader *clusterNode
	var survivors []*clusterNode
	for _, n := range nodes {
		if n.name == old {
			leader = n
		} else {
			survivors = append(survivors, n)
		}
	}
	if leader == nil {
		t.Fatalf("leader %q is none of the nodes", old)
	}
	// Baseline: nothing changed since the nodes started.
	for _, n := range nodes {
		if evs := n.nodeEvents(t, "LEADER"); len(evs) != 0 {
			t.Fatalf("%s reported leader changes before any: %q", n.name, evs)
		}
	}
	stopped := time.Now()
	leader.signal(syscall.SIGTERM)
	var newLeader string
	waitFor(t, "a new leader", func() bool {
		newLeader = survivors[0].leaderOf(t)
		return newLeader != "" && newLeader != old && survivors[1].leaderOf(t) == newLeader
	})
	want := "LEADER " + newLeader + " CHANGED "
	for _, n := range survivors {
		waitFor(t, n.name+"'s LEADER CHANGED", func() bool { return len(n.nodeEvents(t, "LEADER")) > 0 })
	}
	t.Logf("LEADER CHANGED on both survivors %v after SIGTERM to the leader", time.Since(stopped).Round(10*time.Millisecond))
	// Longer than a poll and an election: a second event would show.
	time.Sleep(2 * time.Second)
	for _, n := range survivors {
		evs := n.nodeEvents(t, "LEADER")
		if len(evs) != 1 || evs[0] != want+n.name+"|leader|"+old {
			t.Fatalf("%s leader events %q, want exactly [%s%s|leader|%s]", n.name, evs, want, n.name, old)
		}
		if q := n.nodeEvents(t, "QUORUM"); len(q) != 0 {
			t.Fatalf("%s reported %q for an election", n.name, q)
		}
	}

	// Two nodes gone: the last one loses quorum; one back: restored.
	last, other := survivors[0], survivors[1]
	stopped = time.Now()
	other.signal(syscall.SIGTERM)
	waitFor(t, last.name+"'s QUORUM LOST", func() bool { return len(last.nodeEvents(t, "QUORUM")) > 0 })
	t.Logf("QUORUM LOST %v after SIGTERM to the second node (grace 5s)", time.Since(stopped).Round(10*time.Millisecond))
	if q := last.nodeEvents(t, "QUORUM"); len(q) != 1 || q[0] != "QUORUM raft LOST "+last.name+"|quorum|" {
		t.Fatalf("%s quorum events %q, want one LOST", last.name, q)
	}
	restarted := time.Now()
	other.start(t)
	waitFor(t, last.name+"'s QUORUM RESTORED", func() bool { return len(last.nodeEvents(t, "QUORUM")) > 1 })
	t.Logf("QUORUM RESTORED %v after restarting a node (start included)", time.Since(restarted).Round(10*time.Millisecond))
	if q := last.nodeEvents(t, "QUORUM"); len(q) != 2 || q[1] != "QUORUM raft RESTORED "+last.name+"|quorum|" {
		t.Fatalf("%s quorum events %q, want LOST then RESTORED", last.name, q)
	}
}
