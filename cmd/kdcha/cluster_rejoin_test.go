package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kdcha/kdcha/admin"
	"github.com/kdcha/kdcha/kdc/db"
)

const rejoinPassword = "Rejoin-pw-2026!"

// listKVNOs lists the principals a node serves (fresh read), name -> kvno.
func listKVNOs(t *testing.T, n *clusterNode) map[string]uint32 {
	t.Helper()
	ctx := t.Context()
	ps, err := admin.NewClient(filepath.Join(n.dir, "admin.sock")).List(ctx)
	if err != nil {
		t.Fatalf("list through %s: %v", n.name, err)
	}
	out := map[string]uint32{}
	for _, p := range ps {
		if _, dup := out[p.Name]; dup {
			t.Errorf("%s lists %s twice", n.name, p.Name)
		}
		out[p.Name] = p.KVNO
	}
	return out
}

// sameKVNOs fails unless got and want hold the same principals with the
// same kvnos.
func sameKVNOs(t *testing.T, what string, got, want map[string]uint32) {
	t.Helper()
	for name, kv := range want {
		if g, ok := got[name]; !ok {
			t.Errorf("%s: %s is missing", what, name)
		} else if g != kv {
			t.Errorf("%s: %s has kvno %d, want %d", what, name, g, kv)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s: unexpected principal %s", what, name)
		}
	}
}

// clusterLeaderNode returns the node n names as its leader.
func clusterLeaderNode(t *testing.T, nodes []*clusterNode, n *clusterNode) *clusterNode {
	t.Helper()
	id := n.status(t).Self.LeaderID
	for _, l := range nodes {
		if l.name == id {
			return l
		}
	}
	t.Fatalf("%s names leader %q, not one of the nodes", n.name, id)
	return nil
}

// TestClusterWipedFollowerRejoins: a follower leaves the cluster with
// `cluster leave` and is stopped; its agent then refuses to start on the
// old data dir (it is no longer a member); it loses its data dir;
// principals are added, rekeyed and deleted while it is away; with a new token it joins again, catches up
// (same principals and kvnos, lag 0 in `cluster status` seen from itself
// and from the others) and MIT kinit works against its own KDC for a
// principal created before and one created while it was gone.
func TestClusterWipedFollowerRejoins(t *testing.T) {
	requireMIT(t)
	nodes := startCluster(t, "n1", "n2", "n3")
	n1 := nodes[0]
	n1.must(t, rejoinPassword+"\n", "principal", "add", "alice", "--password-file", "-")
	for i := range 4 {
		n1.must(t, "", "principal", "add", fmt.Sprintf("svc%d/host.example.com", i), "--random-key")
	}
	n1.must(t, "", "principal", "rekey", "svc0/host.example.com")

	leader := clusterLeaderNode(t, nodes, n1)
	var gone, via *clusterNode
	for _, n := range []*clusterNode{nodes[2], nodes[1]} {
		if n != leader {
			gone = n
			break
		}
	}
	for _, n := range nodes {
		if n != gone {
			via = n
			break
		}
	}

	out := gone.must(t, "", "cluster", "leave")
	if !strings.Contains(out, "left the cluster") {
		t.Fatalf("cluster leave: %s", out)
	}
	gone.signal(syscall.SIGTERM)
	waitVoters(t, via, 2)
	for _, m := range via.status(t).Members {
		if m.ID == gone.name {
			t.Fatalf("%s still lists %s after it left", via.name, gone.name)
		}
	}

	// Restarted on its old data dir, the node that left refuses to run
	// rather than coming back unnoticed.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	agentOut, err := exec.CommandContext(ctx, kdchaBin, "agent", "--config", gone.cfgPath).CombinedOutput()
	timedOut := ctx.Err() != nil
	cancel()
	if err == nil || timedOut || !strings.Contains(string(agentOut), "not in the raft configuration") {
		t.Fatalf("agent of a node that left, on its old data dir: err=%v\n%s", err, agentOut)
	}

	// Changes the returning node has never seen.
	via.must(t, rejoinPassword+"\n", "principal", "add", "bob", "--password-file", "-")
	via.must(t, "", "principal", "rekey", "svc1/host.example.com")
	via.must(t, "", "principal", "rekey", "svc1/host.example.com")
	via.must(t, "", "principal", "delete", "svc3/host.example.com")
	want := listKVNOs(t, via)

	if err := os.RemoveAll(filepath.Join(gone.dir, "data")); err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(via.must(t, "", "cluster", "token", "--config", via.cfgPath))
	gone.must(t, "", "cluster", "join", via.clusterAddr, "--token", token, "--config", gone.cfgPath)
	start := time.Now()
	gone.start(t)
	waitVoters(t, via, 3)
	waitVoters(t, gone, 3)
	t.Logf("%s rejoined through %s and caught up in %v", gone.name, via.name, time.Since(start).Round(time.Millisecond))

	sameKVNOs(t, gone.name+" after rejoining", listKVNOs(t, gone), want)
	self := gone.status(t).Self
	if self.Principals != len(want) {
		t.Errorf("%s's replica holds %d principals, the cluster %d", gone.name, self.Principals, len(want))
	}
	for _, user := range []string{"alice", "bob"} {
		if err := gone.kinit(t, user, rejoinPassword); err != nil {
			t.Error(err)
		}
	}
	// The rejoined node takes writes too.
	gone.must(t, "", "principal", "add", "carol", "--random-key")
	for _, n := range nodes {
		if _, ok := listKVNOs(t, n)["carol@CLUSTER.TEST"]; !ok {
			t.Errorf("%s does not see carol, added through the rejoined %s", n.name, gone.name)
		}
	}
}

// TestClusterWipedMemberRejoinsWithoutLeave: a member whose disk is lost
// never got to run `cluster leave` (the CLI only removes the local node, so
// a dead member cannot be removed through another one). It joins again
// under the same name and address with a new token and must catch up all
// the same, without the cluster ever counting a fourth member.
func TestClusterWipedMemberRejoinsWithoutLeave(t *testing.T) {
	requireMIT(t)
	nodes := startCluster(t, "n1", "n2", "n3")
	n1 := nodes[0]
	n1.must(t, rejoinPassword+"\n", "principal", "add", "alice", "--password-file", "-")
	leader := clusterLeaderNode(t, nodes, n1)
	gone := nodes[2]
	if gone == leader {
		gone = nodes[1]
	}
	var via *clusterNode
	for _, n := range nodes {
		if n != gone {
			via = n
			break
		}
	}
	gone.signal(syscall.SIGKILL)
	if err := os.RemoveAll(filepath.Join(gone.dir, "data")); err != nil {
		t.Fatal(err)
	}
	via.must(t, rejoinPassword+"\n", "principal", "add", "bob", "--password-file", "-")
	want := listKVNOs(t, via)

	token := strings.TrimSpace(via.must(t, "", "cluster", "token", "--config", via.cfgPath))
	gone.must(t, "", "cluster", "join", via.clusterAddr, "--token", token, "--config", gone.cfgPath)
	gone.start(t)
	waitVoters(t, via, 3)
	waitVoters(t, gone, 3)
	sameKVNOs(t, gone.name+" after rejoining", listKVNOs(t, gone), want)
	if got := gone.status(t).Self.Principals; got != len(want) {
		t.Errorf("%s's replica holds %d principals, the cluster %d", gone.name, got, len(want))
	}
	if err := gone.kinit(t, "bob", rejoinPassword); err != nil {
		t.Error(err)
	}
}

var refusedMetric = regexp.MustCompile(`(?m)^kdcha_cluster_refused_connections_total\{reason="([a-z_]+)"\} (\S+)$`)

// refusedCounts scrapes a node's refused-connection counters by reason.
func refusedCounts(t *testing.T, metricsAddr string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatalf("scrape %s: %v", metricsAddr, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, m := range refusedMetric.FindAllStringSubmatch(string(b), -1) {
		out[m[1]], _ = strconv.ParseFloat(m[2], 64)
	}
	if len(out) == 0 {
		t.Fatalf("no kdcha_cluster_refused_connections_total in %s/metrics:\n%s", metricsAddr, b)
	}
	return out
}

// withMetrics rewrites a cluster node's config to serve /metrics on a
// loopback port and returns that address.
func withMetrics(t *testing.T, n *clusterNode) string {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	b, err := os.ReadFile(n.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(b), "metrics:\n  listen: \"\"\n", "metrics:\n  listen: "+addr+"\n", 1)
	if cfg == string(b) {
		t.Fatalf("no metrics section to rewrite in %s", n.cfgPath)
	}
	if err := os.WriteFile(n.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return addr
}

// TestClusterRefusesForeignCredentials: joins with a malformed token or a
// token of another cluster fail with a message naming the problem and leave
// nothing behind; a node holding another cluster's credentials (same realm)
// pointed at the first cluster cannot become a member: the first cluster
// counts the refused connections, keeps one member, and neither side's
// principals reach the other.
func TestClusterRefusesForeignCredentials(t *testing.T) {
	rootA, rootB := t.TempDir(), t.TempDir()
	a1 := newClusterNode(t, rootA, "a1")
	metricsA := withMetrics(t, a1)
	a1.must(t, "", "cluster", "init", "--config", a1.cfgPath)
	a1.start(t)
	waitVoters(t, a1, 1)
	a1.must(t, "", "principal", "add", "only-in-a", "--random-key")

	b1 := newClusterNode(t, rootB, "b1")
	b1.must(t, "", "cluster", "init", "--config", b1.cfgPath)
	b1.start(t)
	waitVoters(t, b1, 1)
	b1.must(t, "", "principal", "add", "intruder", "--random-key")

	// Bad tokens: refused with a clear message, and the data dir stays
	// empty so that a correct join can follow.
	x := newClusterNode(t, rootB, "x1")
	tokenB := strings.TrimSpace(b1.must(t, "", "cluster", "token", "--config", b1.cfgPath))
	expired := strings.TrimSpace(a1.must(t, "", "cluster", "token", "--ttl", "1ms", "--config", a1.cfgPath))
	time.Sleep(10 * time.Millisecond)
	for _, tc := range []struct{ token, want string }{
		{"not-a-token", "invalid join token"},
		{tokenB, "fingerprint"},
		{expired, "token"},
	} {
		out, err := x.kdcha(t, "", "cluster", "join", a1.clusterAddr, "--token", tc.token, "--config", x.cfgPath)
		if err == nil {
			t.Fatalf("join %s with token %q succeeded:\n%s", a1.name, tc.token, out)
		}
		t.Logf("join with token %.20q...: %s", tc.token, strings.TrimSpace(out))
		if !strings.Contains(out, tc.want) {
			t.Errorf("join with a bad token: message lacks %q:\n%s", tc.want, out)
		}
		if _, err := os.Stat(filepath.Join(x.dir, "data", "db", db.DefaultMasterKeyFile)); err == nil {
			t.Errorf("a refused join left a master key behind")
		}
	}

	// x1 joins cluster B properly, then is pointed at cluster A: it holds
	// B's CA, certificate and master key, in the same realm.
	x.must(t, "", "cluster", "join", b1.clusterAddr, "--token", tokenB, "--config", x.cfgPath)
	// Cluster B admitted x1 as a non-voter and would replicate to it;
	// stopped, it leaves x1 only cluster A to talk to.
	b1.signal(syscall.SIGTERM)
	seed := filepath.Join(x.dir, "data", "cluster", "seed")
	if err := os.WriteFile(seed, []byte(a1.clusterAddr+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := refusedCounts(t, metricsA)
	x.start(t)
	// x1 asks cluster A to vote once node.leaderContactWait (15 s) has
	// passed without hearing from a leader.
	deadline := time.Now().Add(40 * time.Second)
	var refused map[string]float64
	for {
		refused = refusedCounts(t, metricsA)
		total := 0.0
		for reason, n := range refused {
			total += n - before[reason]
		}
		if total > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s counted no refused connection from the foreign node in 40s: %v\nx1 logs:\n%s", a1.name, refused, x.logs)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("refused connections on %s: %v", a1.name, refused)
	// The foreign node keeps trying and says why it is not a member.
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(x.logs.String(), "not yet a cluster member"); {
		if time.Now().After(deadline) {
			t.Fatalf("the foreign node does not log that it is not a member:\n%s", x.logs)
		}
		time.Sleep(200 * time.Millisecond)
	}
	v := a1.status(t)
	if len(v.Members) != 1 || v.Members[0].ID != "a1" {
		t.Errorf("cluster A members after the foreign node tried: %+v", v.Members)
	}
	if _, ok := listKVNOs(t, a1)["intruder@CLUSTER.TEST"]; ok {
		t.Errorf("cluster B's principal reached cluster A")
	}
	if got := x.status(t).Self; got.Principals != 0 || slices.ContainsFunc(got.Members, func(m admin.RaftMember) bool { return m.ID == "a1" }) {
		t.Errorf("the foreign node got cluster A's data or configuration: %+v", got)
	}
	if strings.Contains(a1.logs.String(), "admitting a node") {
		t.Errorf("cluster A admitted a node:\n%s", a1.logs)
	}
}

// TestClusterBackupRestore: a backup taken through a follower restores into
// a new one-node cluster of the same realm (with the realm's master key
// stash copied over): every principal with the kvno it had at backup time
// (later changes are not in it), kinit with the password of that time
// works against the restored KDC, and the restored node is a cluster of
// its own that takes writes. Restoring without the stash fails clearly.
func TestClusterBackupRestore(t *testing.T) {
	requireMIT(t)
	nodes := startCluster(t, "n1", "n2", "n3")
	n1 := nodes[0]
	n1.must(t, "Old-pw-2026!\n", "principal", "add", "alice", "--password-file", "-")
	n1.must(t, rejoinPassword+"\n", "principal", "set-password", "alice", "--password-file", "-")
	for i := range 3 {
		n1.must(t, "", "principal", "add", fmt.Sprintf("HTTP/web%d.example.com", i), "--random-key")
	}
	n1.must(t, "", "principal", "rekey", "HTTP/web0.example.com")
	n1.must(t, "", "principal", "rekey", "HTTP/web0.example.com")
	follower := nodes[1]
	if follower == clusterLeaderNode(t, nodes, n1) {
		follower = nodes[2]
	}
	want := listKVNOs(t, follower)

	backup := filepath.Join(t.TempDir(), "kdcha.backup")
	out := follower.must(t, "", "cluster", "backup", "-o", backup)
	t.Logf("backup through %s: %s", follower.name, strings.TrimSpace(out))
	if out, err := follower.kdcha(t, "", "cluster", "backup", "-o", backup); err == nil || !strings.Contains(out, "exists") {
		t.Errorf("second backup to the same file: err=%v\n%s", err, out)
	}
	if fi, err := os.Stat(backup); err != nil || fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("backup file: %v, mode %v", err, fi.Mode())
	}
	// After the backup: not in it.
	n1.must(t, "", "principal", "rekey", "HTTP/web1.example.com")
	n1.must(t, "", "principal", "add", "after-backup", "--random-key")

	r0 := newClusterNode(t, t.TempDir(), "r0")
	if out, err := r0.kdcha(t, "", "cluster", "restore", backup, "--config", r0.cfgPath); err == nil || !strings.Contains(out, "master key") {
		t.Errorf("restore without the master key stash: err=%v\n%s", err, out)
	}

	r := newClusterNode(t, t.TempDir(), "r1")
	key, err := os.ReadFile(filepath.Join(n1.dir, "data", "db", db.DefaultMasterKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(r.dir, "data", "db"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(r.dir, "data", "db", db.DefaultMasterKeyFile), key, 0o600); err != nil {
		t.Fatal(err)
	}
	out = r.must(t, "", "cluster", "restore", backup, "--config", r.cfgPath)
	t.Logf("restore: %s", strings.TrimSpace(out))
	r.start(t)
	waitVoters(t, r, 1)

	sameKVNOs(t, "restored node", listKVNOs(t, r), want)
	if err := r.kinit(t, "alice", rejoinPassword); err != nil {
		t.Error(err)
	}
	if err := r.kinit(t, "alice", "Old-pw-2026!"); err == nil {
		t.Error("kinit with alice's superseded password works against the restored node")
	}
	v := r.status(t)
	if len(v.Members) != 1 || v.Members[0].ID != "r1" {
		t.Errorf("restored cluster members: %+v", v.Members)
	}
	r.must(t, "", "principal", "rekey", "HTTP/web0.example.com")
	if got := listKVNOs(t, r)["HTTP/web0.example.com@CLUSTER.TEST"]; got != want["HTTP/web0.example.com@CLUSTER.TEST"]+1 {
		t.Errorf("rekey on the restored node: kvno %d, want %d", got, want["HTTP/web0.example.com@CLUSTER.TEST"]+1)
	}
}

// TestClusterRestoreRetryAfterMissingStash: a restore that fails because
// the master key stash is missing can be retried once the stash is in
// place, without wiping anything by hand.
func TestClusterRestoreRetryAfterMissingStash(t *testing.T) {
	src := newClusterNode(t, t.TempDir(), "s1")
	src.must(t, "", "cluster", "init", "--config", src.cfgPath)
	src.start(t)
	waitVoters(t, src, 1)
	src.must(t, "", "principal", "add", "kept", "--random-key")
	backup := filepath.Join(t.TempDir(), "kdcha.backup")
	src.must(t, "", "cluster", "backup", "-o", backup)

	r := newClusterNode(t, t.TempDir(), "r1")
	if out, err := r.kdcha(t, "", "cluster", "restore", backup, "--config", r.cfgPath); err == nil {
		t.Fatalf("restore without the master key stash succeeded:\n%s", out)
	}
	key, err := os.ReadFile(filepath.Join(src.dir, "data", "db", db.DefaultMasterKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(r.dir, "data", "db"), 0o700)
	if err := os.WriteFile(filepath.Join(r.dir, "data", "db", db.DefaultMasterKeyFile), key, 0o600); err != nil {
		t.Fatal(err)
	}
	r.must(t, "", "cluster", "restore", backup, "--config", r.cfgPath)
	r.start(t)
	if _, ok := listKVNOs(t, r)["kept@CLUSTER.TEST"]; !ok {
		t.Error("the restored node lacks the principal of the backup")
	}
}
