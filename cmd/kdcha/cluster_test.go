package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kdcha/kdcha/admin"
	"github.com/kdcha/kdcha/node"
)

// clusterNode is one `kdcha agent` of a loopback cluster.
type clusterNode struct {
	name, dir, cfgPath, clusterAddr string
	cmd                             *exec.Cmd
	logs                            *syncBuffer
	done                            chan struct{}
	kdcAddr                         string
	kpasswdAddr                     string
}

// newClusterNode writes the config of a cluster node on loopback ports.
func newClusterNode(t *testing.T, root, name string) *clusterNode {
	t.Helper()
	n := &clusterNode{name: name, dir: filepath.Join(root, name)}
	n.cfgPath = filepath.Join(n.dir, "kdcha.yaml")
	n.clusterAddr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	os.MkdirAll(n.dir, 0o700)
	cfg := fmt.Sprintf(`realm: CLUSTER.TEST
node:
  name: %s
  data_dir: %s/data
  admin_socket: %s/admin.sock
kdc:
  listen: ["127.0.0.1:0"]
metrics:
  listen: ""
cluster:
  listen: %s
`, name, n.dir, n.dir, n.clusterAddr)
	if err := os.WriteFile(n.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return n
}

func (n *clusterNode) kdcha(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(kdchaBin, args...)
	cmd.Env = append(os.Environ(), "KDCHA_ADMIN_SOCKET="+filepath.Join(n.dir, "admin.sock"))
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (n *clusterNode) must(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, err := n.kdcha(t, stdin, args...)
	if err != nil {
		t.Fatalf("%s: kdcha %s: %v\n%s", n.name, strings.Join(args, " "), err, out)
	}
	return out
}

var (
	readyKDC     = regexp.MustCompile(`msg="node ready".* kdc=(\S+)`)
	readyKpasswd = regexp.MustCompile(`msg="node ready".* kpasswd=(\S+)`)
)

// start runs the agent and waits until its KDC and admin API are up.
func (n *clusterNode) start(t *testing.T) {
	t.Helper()
	n.cmd = exec.Command(raceAgentBin, "agent", "--config", n.cfgPath)
	n.logs = agentLogs(t, n.name)
	n.cmd.Stderr = n.logs
	n.done = make(chan struct{})
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func(c *exec.Cmd, done chan struct{}) { c.Wait(); close(done) }(n.cmd, n.done)
	t.Cleanup(func() {
		n.signal(syscall.SIGTERM)
		if t.Failed() {
			t.Logf("%s logs:\n%s", n.name, n.logs)
		}
	})
	for range 300 {
		if m := readyKDC.FindStringSubmatch(n.logs.String()); m != nil {
			n.kdcAddr = m[1]
			n.kpasswdAddr = readyKpasswd.FindStringSubmatch(n.logs.String())[1]
			return
		}
		select {
		case <-n.done:
			t.Fatalf("%s exited:\n%s", n.name, n.logs)
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatalf("%s not ready:\n%s", n.name, n.logs)
}

// waitLog waits until the agent's log contains s, failing the test after
// timeout: for what the agent does in the background after a command has
// returned.
func (n *clusterNode) waitLog(t *testing.T, timeout time.Duration, s string) {
	t.Helper()
	deadline := time.After(timeout)
	for !strings.Contains(n.logs.String(), s) {
		select {
		case <-n.done:
			t.Fatalf("%s exited before logging %s", n.name, s)
		case <-deadline:
			t.Fatalf("%s has not logged %s after %s", n.name, s, timeout)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// signal sends sig and waits (bounded) for the agent to exit.
func (n *clusterNode) signal(sig syscall.Signal) {
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	n.cmd.Process.Signal(sig)
	select {
	case <-n.done:
	case <-time.After(15 * time.Second):
		n.cmd.Process.Kill()
		<-n.done
	}
}

// status returns the node's cluster view.
func (n *clusterNode) status(t *testing.T) admin.ClusterStatus {
	t.Helper()
	var v admin.ClusterStatus
	out := n.must(t, "", "cluster", "status", "--json")
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("cluster status --json: %v\n%s", err, out)
	}
	return v
}

// kinit authenticates against this node's own KDC with the MIT client.
func (n *clusterNode) kinit(t *testing.T, user, password string) error {
	conf := filepath.Join(n.dir, "krb5.conf")
	os.WriteFile(conf, []byte(node.DevKrb5Conf("CLUSTER.TEST", n.kdcAddr, n.kpasswdAddr)), 0o644)
	cmd := exec.Command("kinit", user+"@CLUSTER.TEST")
	cmd.Env = append(os.Environ(), "KRB5_CONFIG="+conf, "KRB5CCNAME=FILE:"+filepath.Join(n.dir, "ccache"))
	cmd.Stdin = strings.NewReader(password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("kinit %s against %s: %v: %s", user, n.name, err, out)
	}
	return nil
}

// startCluster initialises n1, joins the others through it and waits until
// all are voters.
func startCluster(t *testing.T, names ...string) []*clusterNode {
	t.Helper()
	root := t.TempDir()
	var nodes []*clusterNode
	for _, name := range names {
		nodes = append(nodes, newClusterNode(t, root, name))
	}
	first := nodes[0]
	first.must(t, "", "cluster", "init", "--config", first.cfgPath)
	first.start(t)
	for _, n := range nodes[1:] {
		token := strings.TrimSpace(first.must(t, "", "cluster", "token", "--config", first.cfgPath))
		n.must(t, "", "cluster", "join", first.clusterAddr, "--token", token, "--config", n.cfgPath)
		n.start(t)
	}
	waitVoters(t, first, len(nodes))
	return nodes
}

// waitVoters waits until n sees want voters, all reachable and caught up.
func waitVoters(t *testing.T, n *clusterNode, want int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		v := n.status(t)
		ok := len(v.Members) == want
		for _, m := range v.Members {
			ok = ok && m.Voter && m.Error == "" && m.Lag == 0
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster did not settle with %d voters: %+v", want, v)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestClusterThreeNodes: writes through followers are visible on every node
// (admin reads right after the write) and MIT kinit succeeds against every
// node's KDC; a member without quorum refuses writes at once but keeps
// authenticating.
func TestClusterThreeNodes(t *testing.T) {
	requireMIT(t)
	nodes := startCluster(t, "n1", "n2", "n3")
	for i, n := range nodes {
		user := fmt.Sprintf("user%d", i)
		n.must(t, "Cluster-pw-2026!\n", "principal", "add", user, "--password-file", "-")
		for _, other := range nodes {
			if out := other.must(t, "", "principal", "get", user); !strings.Contains(out, user+"@CLUSTER.TEST") {
				t.Fatalf("%s does not see %s written through %s:\n%s", other.name, user, n.name, out)
			}
		}
	}
	for _, n := range nodes {
		for i := range nodes {
			if err := n.kinit(t, fmt.Sprintf("user%d", i), "Cluster-pw-2026!"); err != nil {
				t.Fatal(err)
			}
		}
	}
	out := nodes[0].must(t, "", "cluster", "status")
	for _, want := range []string{"MEMBER", "n1", "n2", "n3", "Leader"} {
		if !strings.Contains(out, want) {
			t.Fatalf("cluster status lacks %q:\n%s", want, out)
		}
	}

	// A dead node is removed through a live one; the cluster goes on with two.
	nodes[2].signal(syscall.SIGKILL)
	nodes[0].must(t, "", "cluster", "remove", "n3")
	waitVoters(t, nodes[0], 2)
	if out, err := nodes[0].kdcha(t, "", "cluster", "remove", "n1"); err == nil || !strings.Contains(out, "cluster leave") {
		t.Fatalf("removing itself with remove: err=%v\n%s", err, out)
	}

	// With the second node down too, the last one has no quorum. Writes
	// fail fast with a clear message; logins keep working from its replica.
	nodes[1].signal(syscall.SIGTERM)
	start := time.Now()
	out, err := nodes[0].kdcha(t, "", "principal", "add", "late", "--random-key")
	if err == nil || !strings.Contains(out, "quorum") && !strings.Contains(out, "leader") {
		t.Fatalf("write without quorum: err=%v\n%s", err, out)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Fatalf("write without quorum took %v to fail", took)
	}
	if err := nodes[0].kinit(t, "user1", "Cluster-pw-2026!"); err != nil {
		t.Fatalf("login without quorum: %v", err)
	}
	// Admin reads answer from the replica with a warning, or refuse with
	// --consistent.
	if out := nodes[0].must(t, "", "principal", "get", "user1"); !strings.Contains(out, "user1@CLUSTER.TEST") || !strings.Contains(out, "warning: answered from this node's replica without a quorum") {
		t.Fatalf("read without quorum:\n%s", out)
	}
	if out, err := nodes[0].kdcha(t, "", "principal", "get", "user1", "--consistent"); err == nil || !strings.Contains(out, "quorum") {
		t.Fatalf("consistent read without quorum: err=%v\n%s", err, out)
	}
}
