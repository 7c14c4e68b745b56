package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRealmRotateMasterKey rotates the master key of a live three-node
// cluster through the CLI of a follower: MIT kinit works against every node
// before and after, every node's stash holds only the new key (the old key
// material is gone from all of them), a restarted node opens with it, and a
// node joining afterwards receives it.
func TestRealmRotateMasterKey(t *testing.T) {
	requireMIT(t)
	nodes := startCluster(t, "n1", "n2", "n3")
	const pw = "Rotate-pw-2026!"
	nodes[0].must(t, pw+"\n", "principal", "add", "alice", "--password-file", "-")
	nodes[0].must(t, "", "principal", "rekey", "krbtgt/CLUSTER.TEST")
	stash := func(n *clusterNode) []byte {
		b, err := os.ReadFile(filepath.Join(n.dir, "data", "db", "master.key"))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	oldKey := stash(nodes[0])[len("KDCHAMK")+1:]
	for _, n := range nodes {
		if err := n.kinit(t, "alice", pw); err != nil {
			t.Fatalf("before the rotation: %v", err)
		}
	}

	out := nodes[1].must(t, "", "realm", "rotate-master-key")
	if !strings.Contains(out, "version 1 -> 2") || !strings.Contains(out, "retired [1] on every node") {
		t.Fatalf("rotate-master-key said:\n%s", out)
	}
	for _, n := range nodes {
		if err := n.kinit(t, "alice", pw); err != nil {
			t.Fatalf("after the rotation: %v", err)
		}
		// Each node drops the retired key from its stash in the background,
		// once a snapshot after the retirement is on disk: wait for that.
		n.waitLog(t, 30*time.Second, `msg="retired master key versions removed from the stash"`)
		if b := stash(n); bytes.Contains(b, oldKey) || b[len("KDCHAMK")] != 2 {
			t.Fatalf("%s: stash still holds the old key, or is not a rotated stash", n.name)
		}
	}

	// Restart a node: it opens with the rotated stash alone.
	nodes[2].signal(syscall.SIGTERM)
	nodes[2].start(t)
	waitVoters(t, nodes[0], 3)
	if err := nodes[2].kinit(t, "alice", pw); err != nil {
		t.Fatalf("after a restart: %v", err)
	}

	// A node joining now receives the new stash and serves the realm.
	n4 := newClusterNode(t, filepath.Dir(nodes[0].dir), "n4")
	token := strings.TrimSpace(nodes[0].must(t, "", "cluster", "token", "--config", nodes[0].cfgPath))
	n4.must(t, "", "cluster", "join", nodes[0].clusterAddr, "--token", token, "--config", n4.cfgPath)
	n4.start(t)
	waitVoters(t, nodes[0], 4)
	if err := n4.kinit(t, "alice", pw); err != nil {
		t.Fatalf("on a node joined after the rotation: %v", err)
	}
	if bytes.Contains(stash(n4), oldKey) {
		t.Fatal("the joining node received the old key")
	}
}
