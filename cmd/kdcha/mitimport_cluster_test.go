package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kdcha/kdcha/node"
)

// TestClusterImportMITDump imports an MIT realm into a running 3-node
// cluster through a follower (one forwarded Raft write): on every node the
// users' MIT passwords and the service's MIT keytab (kvno 2) work at once,
// the policy is MIT's, and the RC4-only principal is reported.
func TestClusterImportMITDump(t *testing.T) {
	const realm = "CLUSTER.TEST" // the cluster helpers' realm
	m := newMITRealm(t, realm)
	m.kadmin("addpol -minlength 10 -history 3 strong")
	m.kadmin("addprinc -pw alice-password-1 alice")
	m.kadmin("addprinc -pw bob-password-12 -policy strong +requires_preauth bob")
	m.kadmin("addprinc -randkey host/svc.cluster.test")
	svcKT := filepath.Join(m.dir, "svc.keytab")
	m.kadmin("ktadd -k " + svcKT + " host/svc.cluster.test") // kvno 2
	m.kadmin("addprinc -randkey -e rc4-hmac:normal rc4only")
	dump := filepath.Join(m.dir, "realm.dump")
	m.must("kdb5_util", "-r", realm, "dump", dump)

	nodes := startCluster(t, "n1", "n2", "n3")
	via := nodes[2] // joined last: a follower
	out := via.must(t, "", "import", "mit-dump", dump, "--stash", filepath.Join(m.dir, "stash"), "--overwrite")
	if !strings.Contains(out, "no usable key (DES/3DES/RC4 only; not imported, give it a new password or key): rc4only@"+realm) {
		t.Fatalf("import summary:\n%s", out)
	}
	for _, n := range nodes {
		// A fresh admin read makes n's replica catch up, as any read after
		// the acknowledged write would.
		n.must(t, "", "principal", "get", "alice")
		for _, u := range [][2]string{{"alice", "alice-password-1"}, {"bob", "bob-password-12"}} {
			if err := n.kinit(t, u[0], u[1]); err != nil {
				t.Fatal(err)
			}
		}
		conf := filepath.Join(n.dir, "krb5.conf")
		if err := os.WriteFile(conf, []byte(node.DevKrb5Conf(realm, n.kdcAddr, n.kpasswdAddr)), 0o644); err != nil {
			t.Fatal(err)
		}
		env := append(os.Environ(), "KRB5_CONFIG="+conf, "KRB5CCNAME=FILE:"+filepath.Join(n.dir, "ccache-svc"))
		for _, args := range [][]string{{"kinit", "-kt", svcKT, "host/svc.cluster.test"}, {"kvno", "-k", svcKT, "host/svc.cluster.test"}} {
			cmd := exec.Command(args[0], args[1:]...)
			cmd.Env = env
			if out, err := cmd.CombinedOutput(); err != nil || (args[0] == "kvno" && !strings.Contains(string(out), "kvno = 2, keytab entry valid")) {
				t.Fatalf("%v against %s: %v\n%s", args, n.name, err, out)
			}
		}
	}
	pol := nodes[1].must(t, "", "policy", "get", "strong")
	if !regexp.MustCompile(`Minimum length:\s+10\n`).MatchString(pol) || !regexp.MustCompile(`History:\s+3\n`).MatchString(pol) {
		t.Fatalf("imported policy:\n%s", pol)
	}
	if out := nodes[1].must(t, "", "principal", "get", "bob"); !regexp.MustCompile(`Password policy:\s+strong`).MatchString(out) {
		t.Fatalf("bob:\n%s", out)
	}
}
