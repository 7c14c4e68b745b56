package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kdcha/kdcha/admin"
)

// klistLifetime is the lifetime (end - start) of the TGT in n's ccache, as
// MIT klist shows it.
func (n *clusterNode) klistLifetime(t *testing.T) time.Duration {
	t.Helper()
	cmd := exec.Command("klist")
	cmd.Env = append(os.Environ(), "KRB5CCNAME=FILE:"+filepath.Join(n.dir, "ccache"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("klist on %s: %v\n%s", n.name, err, out)
	}
	m := regexp.MustCompile(`(?m)^(\S+ \S+)\s+(\S+ \S+)\s+krbtgt/`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("no TGT in klist output:\n%s", out)
	}
	for _, layout := range []string{"01/02/2006 15:04:05", "01/02/06 15:04:05", "2006-01-02 15:04:05"} {
		start, err1 := time.Parse(layout, m[1])
		end, err2 := time.Parse(layout, m[2])
		if err1 == nil && err2 == nil {
			return end.Sub(start)
		}
	}
	t.Fatalf("klist times %q %q in no known layout:\n%s", m[1], m[2], out)
	return 0
}

// setKDCKeys adds lines to the kdc section of n's configuration file.
func (n *clusterNode) setKDCKeys(t *testing.T, lines string) {
	t.Helper()
	b, err := os.ReadFile(n.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	const kdcSection = "kdc:\n  listen: [\"127.0.0.1:0\"]\n"
	if !strings.Contains(string(b), kdcSection) {
		t.Fatalf("no kdc section to extend in %s", n.cfgPath)
	}
	b = []byte(strings.Replace(string(b), kdcSection, kdcSection+lines, 1))
	if err := os.WriteFile(n.cfgPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func (n *clusterNode) settingsConflicts(t *testing.T) []admin.SettingConflict {
	t.Helper()
	var v admin.NodeStatus
	out := n.must(t, "", "status", "--json")
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	return v.RealmSettingsConflicts
}

// TestRealmSettingsTwoNodes: two nodes whose files set different ticket
// lifetimes issue the same one, the realm's (seeded by the first node);
// the other node reports the disagreement in its log (once), in status
// and in check-config. `kdcha realm settings set` through either node
// changes what both issue.
func TestRealmSettingsTwoNodes(t *testing.T) {
	requireMIT(t)
	root := t.TempDir()
	n1, n2 := newClusterNode(t, root, "n1"), newClusterNode(t, root, "n2")
	n1.setKDCKeys(t, "  max_life: 10h\n")
	n2.setKDCKeys(t, "  max_life: 8h\n")
	n1.must(t, "", "cluster", "init", "--config", n1.cfgPath)
	n1.start(t)
	token := strings.TrimSpace(n1.must(t, "", "cluster", "token", "--config", n1.cfgPath))
	n2.must(t, "", "cluster", "join", n1.clusterAddr, "--token", token, "--config", n2.cfgPath)
	n2.start(t)
	waitVoters(t, n1, 2)

	const pw = "Realm-settings-2026!"
	n1.must(t, pw+"\n", "principal", "add", "alice", "--password-file", "-")
	lifetimes := func(want time.Duration) {
		t.Helper()
		for _, n := range []*clusterNode{n1, n2} {
			// An admin read brings the replica up to date first.
			n.must(t, "", "realm", "settings", "show")
			n.must(t, "", "principal", "get", "alice")
			if err := n.kinit(t, "alice", pw); err != nil {
				t.Fatal(err)
			}
			// kinit asks for MIT's default of 24h; the realm caps it.
			if got := n.klistLifetime(t); got != want {
				t.Fatalf("%s issued a %s ticket, want the realm's %s", n.name, got, want)
			}
		}
	}
	lifetimes(10 * time.Hour)

	if out := n1.must(t, "", "realm", "settings", "show"); !regexp.MustCompile(`max_life\s+10h0m0s`).MatchString(out) {
		t.Fatalf("realm settings show:\n%s", out)
	}
	waitFor(t, "n2's WARN", func() bool { return strings.Contains(n2.logs.String(), "keys=[kdc.max_life]") })
	if c := n2.settingsConflicts(t); len(c) != 1 || c[0].Key != "kdc.max_life" || c[0].Config != "8h0m0s" || c[0].Realm != "10h0m0s" {
		t.Fatalf("n2 status conflicts %+v", c)
	}
	if c := n1.settingsConflicts(t); len(c) != 0 {
		t.Fatalf("the seeding node reports conflicts %+v", c)
	}
	if out := n2.must(t, "", "check-config", "--config", n2.cfgPath); !strings.Contains(out, "warning: kdc.max_life: 8h0m0s in the file, 10h0m0s in the realm") {
		t.Fatalf("check-config of n2:\n%s", out)
	}

	n2.must(t, "", "realm", "settings", "set", "--max-life", "8h", "--max-renewable-life", "1d")
	lifetimes(8 * time.Hour)
	if c := n2.settingsConflicts(t); len(c) != 0 {
		t.Fatalf("n2 agrees now, still reports %+v", c)
	}
	if c := n1.settingsConflicts(t); len(c) != 1 || c[0].Key != "kdc.max_life" {
		t.Fatalf("n1 disagrees now, reports %+v", c)
	}
	if n := strings.Count(n2.logs.String(), "configuration disagrees with the realm settings"); n != 1 {
		t.Fatalf("n2 logged the disagreement %d times, want once", n)
	}
}

// waitFor polls cond for up to 20 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
