package main

import (
	"bytes"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kdcha/kdcha/admin"
	"github.com/kdcha/kdcha/kdc/db"
)

// maxStatusWidth bounds every line of `kdcha cluster status`.
const maxStatusWidth = 130

var clusterHeader = regexp.MustCompile(`^cluster: (?:leader (\S+)|no leader), term (\d+), (\d+) of (\d+) voters answered$`)

// checkClusterView asserts that one `cluster status` output agrees with
// itself: the header's leader is not dead, its row says Leader in the
// header's term, no other row leads in that term, unreachable members
// have their error on a line below the table, and no line is wide. It
// returns the header's leader.
func checkClusterView(t *testing.T, out, dead string) string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	m := clusterHeader.FindStringSubmatch(lines[0])
	if m == nil {
		t.Fatalf("header %q does not match %v:\n%s", lines[0], clusterHeader, out)
	}
	leader, term := m[1], m[2]
	if dead != "" && leader == dead {
		t.Fatalf("the header names the dead %s leader:\n%s", dead, out)
	}
	for _, l := range lines {
		if len(l) > maxStatusWidth {
			t.Errorf("line of %d columns: %q", len(l), l)
		}
	}
	i := 0
	for i < len(lines) && !strings.HasPrefix(lines[i], "MEMBER") {
		i++
	}
	if i == len(lines) {
		t.Fatalf("no table:\n%s", out)
	}
	cols := strings.Fields(lines[i])
	unreachable := map[string]bool{}
	leaderRow := false
	for i++; i < len(lines) && lines[i] != ""; i++ {
		f := strings.Fields(lines[i])
		if len(f) != len(cols) {
			t.Fatalf("row %q has %d cells, want %d (an error in a cell?):\n%s", lines[i], len(f), len(cols), out)
		}
		switch {
		case f[3] == "unreachable":
			unreachable[f[0]] = true
		case f[3] == string(db.RoleLeader) && f[4] == term:
			if f[0] != leader {
				t.Fatalf("%s leads in term %s but the header says %q:\n%s", f[0], term, leader, out)
			}
			leaderRow = true
		}
	}
	if leader != "" && !leaderRow {
		t.Fatalf("the header names %s leader in term %s, its row does not:\n%s", leader, term, out)
	}
	rest := strings.Join(lines[i:], "\n")
	for id := range unreachable {
		if !strings.Contains(rest, "\n"+id+": unreachable: ") {
			t.Errorf("unreachable %s has no error line below the table:\n%s", id, out)
		}
	}
	if dead != "" && !unreachable[dead] {
		t.Errorf("dead %s is not shown unreachable:\n%s", dead, out)
	}
	return leader
}

// TestClusterViewErrorsBelowTable: a long wrapped error stays out of the
// table and is cut to its cause.
func TestClusterViewErrorsBelowTable(t *testing.T) {
	long := "cluster: status of n3 at 127.0.0.1:40001: post https://127.0.0.1:40001/v1/status: dial tcp 127.0.0.1:40001: connect: connection refused"
	v := admin.ClusterStatus{
		Self:   admin.RaftStatus{NodeID: "n1", State: db.RoleFollower, Term: 5},
		Leader: "n2", Term: 5,
		Members: []admin.MemberStatus{
			{ID: "n1", Address: "127.0.0.1:40000", Voter: true, State: db.RoleFollower, Term: 5, AppliedIndex: 9},
			{ID: "n2", Address: "127.0.0.1:40002", Voter: true, State: db.RoleLeader, Term: 5, AppliedIndex: 9},
			{ID: "n3", Address: "127.0.0.1:40001", Voter: true, Error: long + strings.Repeat(" and more", 30)},
		},
	}
	var b bytes.Buffer
	printClusterView(&b, v)
	out := b.String()
	if got := checkClusterView(t, out, "n3"); got != "n2" {
		t.Errorf("header leader %q, want n2", got)
	}
	if !strings.HasPrefix(out, "cluster: leader n2, term 5, 2 of 3 voters answered\n") {
		t.Errorf("header:\n%s", out)
	}
	if !strings.Contains(out, "\nn3: unreachable: connection refused and more") {
		t.Errorf("error line not cut to its cause:\n%s", out)
	}
}

// TestClusterStatusAgreesWithItselfWhenLeaderDies: while and after the
// Raft leader is killed, every `cluster status` of a survivor agrees with
// itself, never names the dead node leader, and ends naming a live one.
func TestClusterStatusAgreesWithItselfWhenLeaderDies(t *testing.T) {
	nodes := startCluster(t, "n1", "n2", "n3")
	var leader *clusterNode
	for deadline := time.Now().Add(20 * time.Second); leader == nil; {
		name := checkClusterView(t, nodes[0].must(t, "", "cluster", "status"), "")
		for _, n := range nodes {
			if n.name == name {
				leader = n
			}
		}
		if leader == nil && time.Now().After(deadline) {
			t.Fatal("no leader in cluster status after 20s")
		}
		if leader == nil {
			time.Sleep(100 * time.Millisecond)
		}
	}
	leader.signal(syscall.SIGKILL)
	var survivors []*clusterNode
	for _, n := range nodes {
		if n != leader {
			survivors = append(survivors, n)
		}
	}
	// Poll both survivors through the election until both name the same
	// live leader; every output on the way must be consistent.
	polls := 0
	for deadline := time.Now().Add(30 * time.Second); ; polls++ {
		var named []string
		for _, n := range survivors {
			named = append(named, checkClusterView(t, n.must(t, "", "cluster", "status"), leader.name))
		}
		if named[0] != "" && named[0] == named[1] {
			t.Logf("after %d polls both survivors name %s (killed %s)", polls+1, named[0], leader.name)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("survivors did not agree on a leader within 30s: %v", named)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if v := survivors[0].status(t); v.Leader == "" || v.Leader == leader.name || v.Term == 0 {
		t.Errorf("--json: leader %q term %d after the election", v.Leader, v.Term)
	}
}
