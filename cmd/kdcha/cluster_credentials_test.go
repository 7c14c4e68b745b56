package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kdcha/kdcha/cluster"
)

// caCerts returns the CA certificates (DER) in a node's cluster directory.
func caCerts(t *testing.T, dir string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, cluster.CACertFile))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for blk, rest := pem.Decode(b); blk != nil; blk, rest = pem.Decode(rest) {
		out = append(out, blk.Bytes)
	}
	return out
}

// TestClusterRotateCredentials: `cluster rotate-credentials` on a live
// three-node cluster: MIT kinit and replicated writes through every node
// keep working during and after; every node's cluster directory ends up
// with a certificate of a new CA, trusted alone; and the credentials of a
// member copied before the rotation (a stolen node's, whose node ID is
// still a member) are refused afterwards and counted as untrusted_cert.
// Before, those credentials stayed valid for the certificate's 10 years.
func TestClusterRotateCredentials(t *testing.T) {
	requireMIT(t)
	root := t.TempDir()
	var nodes []*clusterNode
	for _, name := range []string{"n1", "n2", "n3"} {
		nodes = append(nodes, newClusterNode(t, root, name))
	}
	first := nodes[0]
	metrics := withMetrics(t, first)
	first.must(t, "", "cluster", "init", "--config", first.cfgPath)
	first.start(t)
	for _, n := range nodes[1:] {
		token := strings.TrimSpace(first.must(t, "", "cluster", "token", "--config", first.cfgPath))
		n.must(t, "", "cluster", "join", first.clusterAddr, "--token", token, "--config", n.cfgPath)
		n.start(t)
	}
	waitVoters(t, first, 3)
	first.must(t, "Cluster-pw-2026!\n", "principal", "add", "alice", "--password-file", "-")

	clusterDir := func(n *clusterNode) string { return filepath.Join(n.dir, "data", "cluster") }
	oldCAs := caCerts(t, clusterDir(first))
	stolenDir := filepath.Join(t.TempDir(), "stolen")
	if err := os.CopyFS(stolenDir, os.DirFS(clusterDir(nodes[2]))); err != nil {
		t.Fatal(err)
	}
	stolen, err := cluster.Load(stolenDir)
	if err != nil {
		t.Fatal(err)
	}
	client := cluster.NewClient(stolen, cluster.Config{})
	if _, err := client.Status(t.Context(), first.clusterAddr); err != nil {
		t.Fatalf("the copied credentials before the rotation: %v", err)
	}

	oldToken := strings.TrimSpace(first.must(t, "", "cluster", "token", "--config", first.cfgPath))

	type result struct {
		out string
		err error
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		out, err := nodes[1].kdcha(t, "", "cluster", "rotate-credentials")
		done <- result{out, err}
	}()
	// Logins and writes through every node while the rotation runs.
	var res result
	for i, finished := 0, false; !finished; i++ {
		n := nodes[i%len(nodes)]
		if err := n.kinit(t, "alice", "Cluster-pw-2026!"); err != nil {
			t.Fatalf("during the rotation: %v", err)
		}
		n.must(t, "", "principal", "add", fmt.Sprintf("during%d", i), "--random-key")
		select {
		case res = <-done:
			finished = true
		default:
		}
	}
	if res.err != nil {
		t.Fatalf("rotate-credentials: %v\n%s", res.err, res.out)
	}
	t.Logf("rotate-credentials took %v: %s", time.Since(start).Round(time.Millisecond), strings.TrimSpace(res.out))

	var newCA []byte
	for _, n := range nodes {
		// The worker of each node applies the drop asynchronously.
		deadline := time.Now().Add(10 * time.Second)
		for len(caCerts(t, clusterDir(n))) != 1 && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		cas := caCerts(t, clusterDir(n))
		if len(cas) != 1 || bytes.Equal(cas[0], oldCAs[0]) {
			t.Fatalf("%s trusts %d CAs after the rotation (old one among them: %v)", n.name, len(cas), bytes.Equal(cas[0], oldCAs[0]))
		}
		if newCA == nil {
			newCA = cas[0]
		}
		creds, err := cluster.Load(clusterDir(n))
		if err != nil || !creds.IssuedBy(newCA) || !bytes.Equal(cas[0], newCA) {
			t.Fatalf("%s's cluster directory does not hold a certificate of the new CA: %v", n.name, err)
		}
	}
	for i, n := range nodes {
		n.must(t, "", "principal", "add", fmt.Sprintf("after%d", i), "--random-key")
		for _, other := range nodes {
			if err := other.kinit(t, "alice", "Cluster-pw-2026!"); err != nil {
				t.Fatalf("after the rotation: %v", err)
			}
			if out := other.must(t, "", "principal", "get", fmt.Sprintf("after%d", i)); !strings.Contains(out, "@CLUSTER.TEST") {
				t.Fatalf("%s does not see the write through %s", other.name, n.name)
			}
		}
	}

	// Joins: a token issued before the rotation pins the old CA and is
	// refused; one issued after it admits the node with a certificate of
	// the new CA.
	n4 := newClusterNode(t, root, "n4")
	if out, err := n4.kdcha(t, "", "cluster", "join", nodes[1].clusterAddr, "--token", oldToken, "--config", n4.cfgPath); err == nil || !strings.Contains(out, "fingerprint") {
		t.Fatalf("join with a token from before the rotation: err=%v\n%s", err, out)
	}
	token := strings.TrimSpace(nodes[1].must(t, "", "cluster", "token", "--config", nodes[1].cfgPath))
	n4.must(t, "", "cluster", "join", nodes[1].clusterAddr, "--token", token, "--config", n4.cfgPath)
	n4.start(t)
	waitVoters(t, first, 4)
	if creds, err := cluster.Load(clusterDir(n4)); err != nil || !creds.IssuedBy(newCA) {
		t.Fatalf("n4 did not get a certificate of the new CA: %v", err)
	}

	// The thief presents the copied certificate without checking the
	// server's (whose CA it no longer knows).
	pair, err := tls.LoadX509KeyPair(filepath.Join(stolenDir, cluster.NodeCertFile), filepath.Join(stolenDir, cluster.NodeKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	before := refusedCounts(t, metrics)["untrusted_cert"]
	conn, err := tls.Dial("tcp", first.clusterAddr, &tls.Config{
		Certificates: []tls.Certificate{pair}, InsecureSkipVerify: true,
		NextProtos: []string{cluster.ProtoRaft}, MinVersion: tls.VersionTLS13,
	})
	if err == nil {
		// TLS 1.3: the server judges the client certificate after the
		// client finished; the refusal arrives as an alert.
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = conn.Read(make([]byte, 1))
		conn.Close()
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatal("the copied pre-rotation credentials still open a raft stream")
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	_, err = client.Forward(ctx, first.clusterAddr, []byte(forwardedDelete))
	cancel()
	if err == nil {
		t.Fatal("the copied pre-rotation credentials are still accepted")
	}
	deadline := time.Now().Add(5 * time.Second)
	for refusedCounts(t, metrics)["untrusted_cert"] <= before && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if got := refusedCounts(t, metrics)["untrusted_cert"]; got <= before {
		t.Fatalf("untrusted_cert count %v, want more than %v", got, before)
	}
}
