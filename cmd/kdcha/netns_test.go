package main

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// requireNetns skips unless the test can create network namespaces (root
// and iproute2); CI runs as root.
func requireNetns(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("ip (iproute2) not installed")
	}
}

// ipCmd runs `ip args...` and fails the test on error.
func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// newNamespace creates a network namespace with loopback up, deleted at
// the end of the test.
func newNamespace(t *testing.T, prefix string) string {
	t.Helper()
	b := make([]byte, 3)
	rand.Read(b)
	name := prefix + hex.EncodeToString(b)
	ipCmd(t, "netns", "add", name)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	ipCmd(t, "-n", name, "link", "set", "lo", "up")
	return name
}

// newServerClientPair makes a server and a client namespace joined by a
// veth pair: the server is 192.0.2.1 on "vS"+srv[6:], the client 192.0.2.2.
func newServerClientPair(t *testing.T) (srv, cli string) {
	t.Helper()
	srv = newNamespace(t, "kdchaS")
	cli = newNamespace(t, "kdchaC")
	ipCmd(t, "link", "add", "vS"+srv[6:], "netns", srv, "type", "veth", "peer", "name", "vC"+cli[6:], "netns", cli)
	ipCmd(t, "-n", srv, "addr", "add", "192.0.2.1/24", "dev", "vS"+srv[6:])
	ipCmd(t, "-n", srv, "link", "set", "vS"+srv[6:], "up")
	ipCmd(t, "-n", cli, "addr", "add", "192.0.2.2/24", "dev", "vC"+cli[6:])
	ipCmd(t, "-n", cli, "link", "set", "vC"+cli[6:], "up")
	return srv, cli
}

// TestVIPAddedAfterStart reproduces the failover case: the KDC listens on a
// wildcard address, then the VIP is added to its interface. MIT clients
// connect() their UDP socket to the VIP and drop replies from any other
// source, so the reply must leave from the VIP, not from the interface's
// primary address (which the kernel would pick by itself).
func TestVIPAddedAfterStart(t *testing.T) {
	requireMIT(t)
	requireNetns(t)
	srv, cli := newServerClientPair(t)

	n := startDev(t, []string{"ip", "netns", "exec", srv}, "--kdc-addr", "0.0.0.0:8888")
	ipCmd(t, "-n", srv, "addr", "add", "192.0.2.10/32", "dev", "vS"+srv[6:])

	conf := filepath.Join(n.dir, "krb5-vip.conf")
	b, err := os.ReadFile(filepath.Join(n.dir, "krb5.conf"))
	if err != nil {
		t.Fatal(err)
	}
	vipConf := strings.Replace(string(b), "kdc = 0.0.0.0:8888", "kdc = 192.0.2.10:8888", 1)
	if vipConf == string(b) {
		t.Fatalf("krb5.conf has no kdc line to rewrite:\n%s", b)
	}
	if err := os.WriteFile(conf, []byte(vipConf), 0o644); err != nil {
		t.Fatal(err)
	}
	n.env = append(n.env, "KRB5_CONFIG="+conf)
	n.must(n.password+"\n", "ip", "netns", "exec", cli, "kinit", "user")
	if !n.waitLog("ISSUE: authtime") || !strings.Contains(n.logs.String(), "from=192.0.2.2:") {
		t.Fatalf("no ticket issued to the client namespace:\n%s", n.logs.String())
	}
	// kinit falls back to TCP when UDP replies are lost, so success alone
	// proves nothing: every request must have been answered over UDP.
	if strings.Contains(n.logs.String(), "transport=tcp") {
		t.Fatalf("kinit fell back to TCP: UDP replies did not come from the VIP:\n%s", n.logs.String())
	}
}
