package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kdcha/kdcha/admin"
)

const mitImportRealm = "MIT.TEST"

// mitRealm is a throwaway MIT realm (database, stash, kdc.conf) in a temp
// dir, whose krb5kdc listens on a loopback port when started.
type mitRealm struct {
	t     *testing.T
	realm string
	dir   string
	port  int
}

func newMITRealm(t *testing.T, realm string) *mitRealm {
	t.Helper()
	for _, b := range []string{"krb5kdc", "kdb5_util", "kadmin.local", "kinit", "kvno"} {
		if _, err := exec.LookPath(b); err != nil {
			t.Skipf("MIT krb5 %s not installed (krb5-kdc, krb5-admin-server, krb5-user)", b)
		}
	}
	m := &mitRealm{t: t, realm: realm, dir: t.TempDir(), port: freePort(t)}
	conf := fmt.Sprintf(`[libdefaults]
	default_realm = %[3]s
	dns_lookup_kdc = false
	allow_weak_crypto = true
[kdcdefaults]
	kdc_listen = 127.0.0.1:%[2]d
	kdc_tcp_listen = 127.0.0.1:%[2]d
[realms]
	%[3]s = {
		kdc = 127.0.0.1:%[2]d
		database_name = %[1]s/principal
		key_stash_file = %[1]s/stash
		supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
	}
[logging]
	kdc = FILE:%[1]s/kdc.log
`, m.dir, m.port, realm)
	for _, f := range []string{"krb5.conf", "kdc.conf"} {
		if err := os.WriteFile(filepath.Join(m.dir, f), []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	m.must("kdb5_util", "-r", realm, "create", "-s", "-P", "master-password-1")
	return m
}

func (m *mitRealm) env() []string {
	return append(os.Environ(), "KRB5_CONFIG="+filepath.Join(m.dir, "krb5.conf"),
		"KRB5_KDC_PROFILE="+filepath.Join(m.dir, "kdc.conf"), "KRB5CCNAME=FILE:"+filepath.Join(m.dir, "ccache"))
}

func (m *mitRealm) run(stdin, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = m.env()
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (m *mitRealm) must(name string, args ...string) string {
	m.t.Helper()
	out, err := m.run("", name, args...)
	if err != nil {
		m.t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return out
}

func (m *mitRealm) kadmin(q string) {
	m.t.Helper()
	m.must("kadmin.local", "-r", m.realm, "-q", q)
}

// start runs krb5kdc until stop is called (or the test ends).
func (m *mitRealm) start() (stop func()) {
	m.t.Helper()
	cmd := exec.Command("krb5kdc", "-n", "-r", m.realm)
	cmd.Env = m.env()
	if err := cmd.Start(); err != nil {
		m.t.Fatal(err)
	}
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
		}
	}
	m.t.Cleanup(stop)
	for range 100 {
		if b, _ := os.ReadFile(filepath.Join(m.dir, "kdc.log")); strings.Contains(string(b), "commencing operation") {
			return stop
		}
		time.Sleep(50 * time.Millisecond)
	}
	m.t.Fatal("krb5kdc did not start")
	return nil
}

// An MIT realm is dumped and imported into kdcha: old passwords, the
// service's MIT keytab and a TGT MIT issued before the cut-over all work
// against kdcha; flags and lifetimes come along; the RC4-only principal is
// reported. Then kdcha exports it, MIT loads it into a fresh realm, and
// the same passwords and keytab work against MIT again.
func TestMITDumpImportExport(t *testing.T) {
	m := newMITRealm(t, mitImportRealm)
	m.kadmin("addpol -minlength 10 -history 3 strong")
	m.kadmin("addprinc -pw alice-password-1 alice")
	m.kadmin("addprinc -pw bob-password-12 -policy strong +requires_preauth bob")
	m.kadmin("addprinc -pw carol-password-1 -allow_forwardable -maxlife 2h -maxrenewlife 3d carol")
	m.kadmin("addprinc -pw dave-password-1 -pwexpire 2020-01-01 dave")
	m.kadmin("addprinc -randkey host/svc.mit.test")
	svcKT := filepath.Join(m.dir, "svc.keytab")
	m.kadmin("ktadd -k " + svcKT + " host/svc.mit.test") // kvno 2
	m.kadmin("addprinc -randkey -e rc4-hmac:normal rc4only")

	// A TGT from MIT before the cut-over.
	stop := m.start()
	if out, err := m.run("alice-password-1\n", "kinit", "alice"); err != nil {
		t.Fatalf("kinit against MIT: %v\n%s", err, out)
	}
	stop()
	dump := filepath.Join(m.dir, "realm.dump")
	m.must("kdb5_util", "-r", mitImportRealm, "dump", dump)
	alicePwChange := getprincLine(t, m.must("kadmin.local", "-r", mitImportRealm, "-q", "getprinc alice"), "Last password change:")

	n := startDev(t, nil, "--realm", mitImportRealm)
	// Without --overwrite the realm's krbtgt (made by kdcha) refuses it all.
	if out, err := n.run("", kdchaBin, "import", "mit-dump", dump, "--stash", filepath.Join(m.dir, "stash")); err == nil || !strings.Contains(out, "overwrite") {
		t.Fatalf("import without --overwrite: %v\n%s", err, out)
	}
	if out, _ := n.run("", kdchaBin, "principal", "get", "alice"); !strings.Contains(out, "not found") {
		t.Fatalf("refused import wrote alice:\n%s", out)
	}
	out := n.kdcha("import", "mit-dump", dump, "--stash", filepath.Join(m.dir, "stash"), "--overwrite")
	if !strings.Contains(out, "no usable key (DES/3DES/RC4 only; not imported, give it a new password or key): rc4only@MIT.TEST") ||
		!strings.Contains(out, "replaced: krbtgt/MIT.TEST@MIT.TEST") || !strings.Contains(out, "skipped: K/M@MIT.TEST") {
		t.Fatalf("import summary:\n%s", out)
	}

	// kvno with MIT's TGT, against kdcha, before anything else touches
	// the MIT ccache.
	mitCC := filepath.Join(m.dir, "ccache")
	if out, err := n.run("", "env", "KRB5CCNAME=FILE:"+mitCC, "kvno", "host/svc.mit.test"); err != nil || !strings.Contains(out, "kvno = 2") {
		t.Fatalf("kvno with the TGT MIT issued: %v\n%s", err, out)
	}
	n.must("alice-password-1\n", "kinit", "alice")
	n.must("bob-password-12\n", "kinit", "bob")
	n.must("", "kinit", "-kt", svcKT, "host/svc.mit.test")
	n.must("alice-password-1\n", "kinit", "alice")
	if out := n.must("", "kvno", "-k", svcKT, "host/svc.mit.test"); !strings.Contains(out, "keytab entry valid") {
		t.Fatalf("kvno -k:\n%s", out)
	}
	var carol, bob, dave struct {
		Attributes       map[string]bool `json:"attributes"`
		MaxLife          admin.Duration  `json:"max_life"`
		MaxRenewableLife admin.Duration  `json:"max_renewable_life"`
		PasswordExpires  time.Time       `json:"password_expires"`
		Policy           string          `json:"policy"`
	}
	for _, c := range []struct {
		name string
		v    any
	}{{"carol", &carol}, {"bob", &bob}, {"dave", &dave}} {
		if err := json.Unmarshal([]byte(n.kdcha("principal", "get", c.name, "--json")), c.v); err != nil {
			t.Fatal(err)
		}
	}
	if !carol.Attributes["disallow_forwardable"] || carol.MaxLife != admin.Duration(2*time.Hour) || carol.MaxRenewableLife != admin.Duration(72*time.Hour) {
		t.Errorf("carol: %+v", carol)
	}
	if dave.PasswordExpires.Year() != 2020 {
		t.Errorf("dave's expired password: %+v", dave)
	}
	if !bob.Attributes["requires_preauth"] || bob.Policy != "strong" {
		t.Errorf("bob: %+v", bob)
	}

	// Back to MIT: a fresh realm (its own master key) loads the export.
	m2 := newMITRealm(t, mitImportRealm)
	out2 := filepath.Join(t.TempDir(), "export.dump")
	n.kdcha("export", "mit-dump", "-o", out2, "--stash", filepath.Join(m2.dir, "stash"))
	m2.must("kdb5_util", "-r", mitImportRealm, "load", out2)
	m2.start()
	for _, c := range [][]string{{"alice-password-1\n", "kinit", "alice"}, {"", "kinit", "-kt", svcKT, "host/svc.mit.test"}} {
		if out, err := m2.run(c[0], c[1], c[2:]...); err != nil {
			t.Fatalf("%v against MIT after load: %v\n%s", c[1:], err, out)
		}
	}
	if out := m2.must("kvno", "-k", svcKT, "host/svc.mit.test"); !strings.Contains(out, "keytab entry valid") {
		t.Fatalf("kvno -k against MIT after load:\n%s", out)
	}
	// The last password change made the whole trip (MIT -> kdcha -> MIT),
	// and MIT names kdcha as the last modifier.
	got := m2.must("kadmin.local", "-r", mitImportRealm, "-q", "getprinc alice")
	if l := getprincLine(t, got, "Last password change:"); l != alicePwChange || strings.Contains(l, "[never]") {
		t.Errorf("after export and load: %q, MIT had %q", l, alicePwChange)
	}
	if l := getprincLine(t, got, "Last modified:"); !strings.HasSuffix(l, "(kdcha@"+mitImportRealm+")") {
		t.Errorf("after export and load: %q", l)
	}
}

// getprincLine returns the line of kadmin getprinc output that starts
// with prefix.
func getprincLine(t *testing.T, out, prefix string) string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, prefix) {
			return strings.TrimSpace(l)
		}
	}
	t.Fatalf("no %q in getprinc output:\n%s", prefix, out)
	return ""
}

// `cluster init --import-mit-dump` starts a new realm from an MIT dump
// (master password instead of the stash); a malformed dump is refused with
// its line number before the realm is created.
func TestClusterInitFromMITDump(t *testing.T) {
	m := newMITRealm(t, "CLUSTER.TEST")
	m.kadmin("addprinc -pw alice-password-1 alice")
	dump := filepath.Join(m.dir, "realm.dump")
	m.must("kdb5_util", "-r", "CLUSTER.TEST", "dump", dump)
	pwFile := filepath.Join(m.dir, "master.pw")
	if err := os.WriteFile(pwFile, []byte("master-password-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	n := newClusterNode(t, t.TempDir(), "n1")

	raw, _ := os.ReadFile(dump)
	bad := filepath.Join(m.dir, "bad.dump")
	lines := strings.SplitAfter(string(raw), "\n")
	lines[2] = strings.Replace(lines[2], ";", "", 1)
	os.WriteFile(bad, []byte(strings.Join(lines, "")), 0o600)
	out, err := n.kdcha(t, "", "cluster", "init", "--config", n.cfgPath, "--import-mit-dump", bad, "--master-password-file", pwFile)
	if err == nil || !strings.Contains(out, "line 3:") {
		t.Fatalf("init with a malformed dump: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(n.dir, "data")); !os.IsNotExist(err) {
		t.Fatalf("a refused init left a data dir: %v", err)
	}

	out = n.must(t, "", "cluster", "init", "--config", n.cfgPath, "--import-mit-dump", dump, "--master-password-file", pwFile)
	if !strings.Contains(out, "replaced: krbtgt/CLUSTER.TEST@CLUSTER.TEST") {
		t.Fatalf("init summary:\n%s", out)
	}
	n.start(t)
	if err := n.kinit(t, "alice", "alice-password-1"); err != nil {
		t.Fatal(err)
	}
}
