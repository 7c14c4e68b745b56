package main

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/kdcha/kdcha/cluster"
)

// forwardedDelete is what a member sends the leader to delete a principal
// (kdc/db's forwarding encoding), the write a removed node must not get
// applied any more.
const forwardedDelete = `{"v":1,"kind":"apply","command":{"v":1,"op":"delete","time":"2026-01-01T00:00:00Z","name":"victim@CLUSTER.TEST"}}`

// TestClusterRemovedNodeRevoked: after `cluster leave`, the node's kept
// cluster credentials (a valid certificate of the cluster CA) no longer
// get a forwarded write applied nor a Raft stream opened on any remaining
// member, and each refusal is logged as not_member. Before, the leader
// applied the write.
func TestClusterRemovedNodeRevoked(t *testing.T) {
	nodes := startCluster(t, "n1", "n2", "n3")
	n1 := nodes[0]
	n1.must(t, "", "principal", "add", "victim", "--random-key")
	leader := clusterLeaderNode(t, nodes, n1)
	gone := nodes[2]
	if gone == leader {
		gone = nodes[1]
	}
	gone.must(t, "", "cluster", "leave")
	gone.signal(syscall.SIGTERM)
	var rest []*clusterNode
	for _, n := range nodes {
		if n != gone {
			rest = append(rest, n)
		}
	}
	waitVoters(t, rest[0], 2)

	creds, err := cluster.Load(filepath.Join(gone.dir, "data", "cluster"))
	if err != nil {
		t.Fatalf("the removed node's kept credentials: %v", err)
	}
	client := cluster.NewClient(creds, cluster.Config{})
	// A raft stream layer with the removed node's credentials.
	mux, err := cluster.Listen(cluster.Config{Listen: "127.0.0.1:0"}, creds, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer mux.Close()
	for _, n := range rest {
		before := strings.Count(n.logs.String(), "reason=not_member")
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		_, err := client.Forward(ctx, n.clusterAddr, []byte(forwardedDelete))
		cancel()
		if err == nil {
			t.Errorf("%s accepted a forwarded request from the removed %s", n.name, gone.name)
		}
		conn, err := mux.StreamLayer().Dial(raft.ServerAddress(n.clusterAddr), 5*time.Second)
		if err == nil {
			// TLS 1.3: the server judges the client certificate after the
			// client finished; the refusal arrives as an alert.
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, err = conn.Read(make([]byte, 1))
			conn.Close()
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Errorf("%s kept a raft stream of the removed %s open", n.name, gone.name)
			}
		}
		deadline := time.Now().Add(5 * time.Second)
		for strings.Count(n.logs.String(), "reason=not_member") < before+2 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if got := strings.Count(n.logs.String(), "reason=not_member"); got < before+2 {
			t.Errorf("%s logged %d not_member refusals, want at least %d", n.name, got-before, 2)
		}
	}
	for _, n := range rest {
		if _, ok := listKVNOs(t, n)["victim@CLUSTER.TEST"]; !ok {
			t.Errorf("victim was deleted through the removed node's credentials (seen from %s)", n.name)
		}
	}
}

// TestClusterJoinUnderExistingNameRefused: a node joining with a valid
// token under the name of a member at another address is refused with a
// message naming the member's address, and the member stays, at its
// address. Before, the join replaced the member's address.
func TestClusterJoinUnderExistingNameRefused(t *testing.T) {
	nodes := startCluster(t, "n1", "n2")
	n1, n2 := nodes[0], nodes[1]
	impostor := newClusterNode(t, t.TempDir(), "n2")
	token := strings.TrimSpace(n1.must(t, "", "cluster", "token", "--config", n1.cfgPath))
	out, err := impostor.kdcha(t, "", "cluster", "join", n1.clusterAddr, "--token", token, "--config", impostor.cfgPath)
	if err == nil || !strings.Contains(out, "already a member at "+n2.clusterAddr) {
		t.Fatalf("join under n2's name: err=%v\n%s", err, out)
	}
	waitVoters(t, n1, 2)
	for _, m := range n1.status(t).Members {
		if m.ID == "n2" && m.Address != n2.clusterAddr {
			t.Errorf("n2 moved to %s", m.Address)
		}
	}
	n2.must(t, "", "principal", "add", "after", "--random-key")
}

// TestClusterJoinTokenSingleUse: a token issued on one member admits a
// node through another member (read from --token-file), once: a second
// node presenting it is refused. A TTL of zero or less is refused when
// the token is asked for. Before, a token was valid only on the member
// that issued it, and any number of times until it expired.
func TestClusterJoinTokenSingleUse(t *testing.T) {
	nodes := startCluster(t, "n1", "n2")
	n1, n2 := nodes[0], nodes[1]
	for _, ttl := range []string{"0s", "-1h"} {
		if out, err := n1.kdcha(t, "", "cluster", "token", "--ttl", ttl, "--config", n1.cfgPath); err == nil || !strings.Contains(out, "TTL") {
			t.Errorf("token with --ttl %s: err=%v\n%s", ttl, err, out)
		}
	}
	token := strings.TrimSpace(n1.must(t, "", "cluster", "token", "--config", n1.cfgPath))
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	n3 := newClusterNode(t, root, "n3")
	n3.must(t, "", "cluster", "join", n2.clusterAddr, "--token-file", tokenFile, "--config", n3.cfgPath)
	n3.start(t)
	waitVoters(t, n1, 3)

	n4 := newClusterNode(t, root, "n4")
	for _, via := range []*clusterNode{n1, n2} {
		out, err := n4.kdcha(t, token+"\n", "cluster", "join", via.clusterAddr, "--token", "-", "--config", n4.cfgPath)
		if err == nil || !strings.Contains(out, "already used by node n3") {
			t.Fatalf("second join with one token through %s: err=%v\n%s", via.name, err, out)
		}
	}
	if got := len(n1.status(t).Members); got != 3 {
		t.Fatalf("%d members after the refused join, want 3", got)
	}
}

// TestClusterCAKeyOnlyInDatabase: no node keeps the cluster CA key on
// disk (init moves it into the replicated database, joiners never get
// it), yet a node joins through a member that never held the key file. A
// key file left by an older version is removed at agent start. Before,
// every node kept ca.key.
func TestClusterCAKeyOnlyInDatabase(t *testing.T) {
	root := t.TempDir()
	n1, n2, n3 := newClusterNode(t, root, "n1"), newClusterNode(t, root, "n2"), newClusterNode(t, root, "n3")
	keyFile := func(n *clusterNode) string { return filepath.Join(n.dir, "data", "cluster", cluster.CAKeyFile) }
	noKeyFile := func(n *clusterNode) {
		t.Helper()
		if _, err := os.Stat(keyFile(n)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s holds %s: %v", n.name, keyFile(n), err)
		}
	}
	// Credentials made as an older version's init left them (init reuses
	// them), so that the test has the CA key to plant again below.
	if _, err := cluster.CreateCluster(filepath.Join(n1.dir, "data", "cluster"), "n1"); err != nil {
		t.Fatal(err)
	}
	oldKey, err := os.ReadFile(keyFile(n1))
	if err != nil {
		t.Fatal(err)
	}
	n1.must(t, "", "cluster", "init", "--config", n1.cfgPath)
	noKeyFile(n1)
	n1.start(t)
	token := strings.TrimSpace(n1.must(t, "", "cluster", "token", "--config", n1.cfgPath))
	n2.must(t, token, "cluster", "join", n1.clusterAddr, "--token", "-", "--config", n2.cfgPath)
	n2.start(t)
	waitVoters(t, n1, 2)
	noKeyFile(n2)

	// An older version's data dir: the key file is back.
	n1.signal(syscall.SIGTERM)
	if err := os.WriteFile(keyFile(n1), oldKey, 0o600); err != nil {
		t.Fatal(err)
	}
	n1.start(t)
	deadline := time.Now().Add(15 * time.Second)
	for (n1.status(t).Self.LeaderID == "" || !strings.Contains(n1.logs.String(), "cluster CA key moved")) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	noKeyFile(n1)

	token = strings.TrimSpace(n1.must(t, "", "cluster", "token", "--config", n1.cfgPath))
	n3.must(t, token, "cluster", "join", n2.clusterAddr, "--token", "-", "--config", n3.cfgPath)
	n3.start(t)
	waitVoters(t, n1, 3)
	noKeyFile(n3)
}
