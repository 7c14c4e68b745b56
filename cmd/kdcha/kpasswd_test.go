package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/kadmin"

	"github.com/kdcha/kdcha/kdc/db"
	"github.com/kdcha/kdcha/kpasswd"
	"github.com/kdcha/kdcha/node"
)

func requireMITKpasswd(t *testing.T) {
	t.Helper()
	requireMIT(t)
	if _, err := exec.LookPath("kpasswd"); err != nil {
		t.Skip("kpasswd not installed (apt-get install krb5-user; scripts/test.sh does)")
	}
}

// TestMITKpasswdDev changes the user's password with MIT kpasswd against
// `kdcha dev` (kpasswd_server from the krb5.conf it writes): the old
// password stops working and the new one works; a weak password is
// refused with the rule; a ticket from the TGS (no INITIAL) is refused.
func TestMITKpasswdDev(t *testing.T) {
	requireMITKpasswd(t)
	n := startDev(t, nil)
	conf, err := os.ReadFile(filepath.Join(n.dir, "krb5.conf"))
	if err != nil || !strings.Contains(string(conf), "kpasswd_server = "+n.kpasswd) {
		t.Fatalf("krb5.conf does not name the kpasswd server %s (%v):\n%s", n.kpasswd, err, conf)
	}

	// Policy violations: soft error, the policy and rule in the text MIT
	// kpasswd prints.
	for _, c := range []struct{ pw, text string }{
		{"short", "Password change rejected: Password refused by policy default: minlength: 5 characters, at least 8 required"},
		{"Password123", "Password change rejected: Password refused by policy default: dict: one of the most common passwords"},
	} {
		out, err := n.run(n.password+"\n"+c.pw+"\n"+c.pw+"\n", "kpasswd", "user")
		if err == nil || !strings.Contains(out, c.text) {
			t.Fatalf("weak password %q: err %v, output:\n%s", c.pw, err, out)
		}
	}
	if !n.waitLog("chpw request from 127.0.0.1 by user@DEV.KDCHA.TEST for user@DEV.KDCHA.TEST: set password of user@DEV.KDCHA.TEST: password refused by policy default: minlength: 5 characters") {
		t.Fatalf("no log line for the refusal:\n%s", n.logs.String())
	}

	newPW := "Fresh-kpasswd-Secret-1"
	out := n.must(n.password+"\n"+newPW+"\n"+newPW+"\n", "kpasswd", "user")
	if !strings.Contains(out, "Password changed") {
		t.Fatalf("kpasswd output:\n%s", out)
	}
	if out, err := n.run(n.password+"\n", "kinit", "user"); err == nil {
		t.Fatalf("the old password still works:\n%s", out)
	}
	n.must(newPW+"\n", "kinit", "user")
	if out := n.must("", "klist"); !strings.Contains(out, "krbtgt/DEV.KDCHA.TEST@DEV.KDCHA.TEST") {
		t.Fatalf("klist after kinit with the new password:\n%s", out)
	}
}

// TestGokrb5Kpasswd changes a password with gokrb5's client (set-password
// naming itself) and checks that a kadmin/changepw ticket obtained from the
// TGS with a TGT, which lacks INITIAL, is refused: someone holding only a
// stolen TGT cannot change the password.
func TestGokrb5Kpasswd(t *testing.T) {
	n := startDev(t, nil)
	cfg, err := config.Load(filepath.Join(n.dir, "krb5.conf"))
	if err != nil {
		t.Fatal(err)
	}
	cl := client.NewWithPassword("user", "DEV.KDCHA.TEST", n.password, cfg, client.DisablePAFXFAST(true))
	if err := cl.Login(); err != nil {
		t.Fatal(err)
	}
	tkt, key, err := cl.GetServiceTicket(db.ChangePasswordPrincipal)
	if err != nil {
		t.Fatal(err)
	}
	msg, subkey, err := kadmin.ChangePasswdMsg(cl.Credentials.CName(), "DEV.KDCHA.TEST", "Stolen-TGT-Password-1", tkt, key)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := msg.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("udp", n.kpasswd)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(raw); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65536)
	nr, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	var reply kadmin.Reply
	if err := reply.Unmarshal(buf[:nr]); err != nil {
		t.Fatal(err)
	}
	if err := reply.Decrypt(subkey); err != nil {
		t.Fatal(err)
	}
	if reply.ResultCode != kpasswd.ResultInitialFlagNeeded || !strings.Contains(reply.Result, "initial ticket") {
		t.Fatalf("non-initial ticket: result %d %q", reply.ResultCode, reply.Result)
	}

	ok, err := cl.ChangePasswd("Gokrb5-New-Password-1")
	if err != nil || !ok {
		t.Fatalf("gokrb5 ChangePasswd: %v %v", ok, err)
	}
	if err := client.NewWithPassword("user", "DEV.KDCHA.TEST", "Gokrb5-New-Password-1", cfg, client.DisablePAFXFAST(true)).Login(); err != nil {
		t.Fatalf("login with the new password: %v", err)
	}
	if err := client.NewWithPassword("user", "DEV.KDCHA.TEST", n.password, cfg, client.DisablePAFXFAST(true)).Login(); err == nil {
		t.Fatal("the old password still works")
	}
}

// kpasswd runs MIT kpasswd against this node's own KDC and kpasswd service.
func (n *clusterNode) kpasswd(t *testing.T, user, oldPW, newPW string) (string, error) {
	t.Helper()
	conf := filepath.Join(n.dir, "krb5.conf")
	if err := os.WriteFile(conf, []byte(node.DevKrb5Conf("CLUSTER.TEST", n.kdcAddr, n.kpasswdAddr)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("kpasswd", user+"@CLUSTER.TEST")
	cmd.Env = append(os.Environ(), "KRB5_CONFIG="+conf, "KRB5CCNAME=FILE:"+filepath.Join(n.dir, "ccache"))
	cmd.Stdin = strings.NewReader(oldPW + "\n" + newPW + "\n" + newPW + "\n")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestClusterKpasswd changes a password with MIT kpasswd through each node
// of a 3-node cluster, leader and followers alike (followers forward the
// write to the leader): afterwards the new password works on every node and
// the old one fails everywhere (through a VIP: TestClusterKpasswdThroughVIP).
func TestClusterKpasswd(t *testing.T) {
	requireMITKpasswd(t)
	nodes := startCluster(t, "n1", "n2", "n3")
	old := "Cluster-pw-2026!"
	nodes[0].must(t, old+"\n", "principal", "add", "alice", "--password-file", "-")
	for i, via := range nodes {
		newPW := fmt.Sprintf("Kpasswd-via-%s-%d", via.name, i)
		if out, err := via.kpasswd(t, "alice", old, newPW); err != nil || !strings.Contains(out, "Password changed") {
			t.Fatalf("kpasswd through %s: %v\n%s", via.name, err, out)
		}
		for _, n := range nodes {
			// A fresh read makes n's replica catch up with the leader, as
			// any read after the acknowledged write would.
			n.must(t, "", "principal", "get", "alice")
			if err := n.kinit(t, "alice", newPW); err != nil {
				t.Fatalf("new password through %s on %s: %v", via.name, n.name, err)
			}
			if err := n.kinit(t, "alice", old); err == nil {
				t.Fatalf("old password still works on %s after the change through %s", n.name, via.name)
			}
		}
		old = newPW
	}
}

// TestHeimdalKpasswd changes a password with Heimdal's kpasswd (which
// sends set-password over UDP and checks the reply's KRB-PRIV sender
// address). Heimdal's client conflicts with krb5-user as a package, so the
// test runs when KDCHA_HEIMDAL_ROOT names a tree made with `apt-get
// download heimdal-clients libkrb5-26-heimdal ...; dpkg -x`.
func TestHeimdalKpasswd(t *testing.T) {
	root := os.Getenv("KDCHA_HEIMDAL_ROOT")
	if root == "" {
		t.Skip("KDCHA_HEIMDAL_ROOT not set (an extracted heimdal-clients tree)")
	}
	requireMIT(t)
	n := startDev(t, nil)
	heimdal := func(stdin string) (string, error) {
		cmd := exec.Command(filepath.Join(root, "usr/bin/kpasswd.heimdal"), "user")
		cmd.Env = append(append([]string{}, n.env...), "LD_LIBRARY_PATH="+filepath.Join(root, "usr/lib/x86_64-linux-gnu"))
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, _ := heimdal(n.password + "\nshort\nshort\n"); !strings.Contains(out, "Soft error") || !strings.Contains(out, "at least 8 required") {
		t.Fatalf("weak password:\n%s", out)
	}
	newPW := "Heimdal-New-Pass-1"
	if out, err := heimdal(n.password + "\n" + newPW + "\n" + newPW + "\n"); err != nil || !strings.Contains(out, "Password changed") {
		t.Fatalf("heimdal kpasswd: %v\n%s", err, out)
	}
	n.must(newPW+"\n", "kinit", "user")
	if out, err := n.run(n.password+"\n", "kinit", "user"); err == nil {
		t.Fatalf("the old password still works:\n%s", out)
	}
}

// TestKpasswdThroughVIP changes a password through an address added after
// start (a VIP) on a wildcard kpasswd listener: MIT kpasswd (TCP first) and,
// when available, Heimdal's (UDP, from a connect()ed socket that drops a
// reply from any other source and checks the KRB-PRIV sender address).
func TestKpasswdThroughVIP(t *testing.T) {
	requireMITKpasswd(t)
	requireNetns(t)
	srv, cli := newServerClientPair(t)

	n := startDev(t, []string{"ip", "netns", "exec", srv}, "--kdc-addr", "0.0.0.0:8888")
	if n.kpasswd != "0.0.0.0:8889" {
		t.Fatalf("kpasswd on %s, want the KDC port + 1", n.kpasswd)
	}
	ipCmd(t, "-n", srv, "addr", "add", "192.0.2.10/32", "dev", "vS"+srv[6:])
	conf := filepath.Join(n.dir, "krb5-vip.conf")
	b, err := os.ReadFile(filepath.Join(n.dir, "krb5.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, []byte(strings.ReplaceAll(string(b), "0.0.0.0:", "192.0.2.10:")), 0o644); err != nil {
		t.Fatal(err)
	}
	n.env = append(n.env, "KRB5_CONFIG="+conf)

	newPW := "Changed-via-VIP-1"
	out := n.must(n.password+"\n"+newPW+"\n"+newPW+"\n", "ip", "netns", "exec", cli, "kpasswd", "user")
	if !strings.Contains(out, "Password changed") || !n.waitLog("chpw request from 192.0.2.2 by user@DEV.KDCHA.TEST for user@DEV.KDCHA.TEST: success") {
		t.Fatalf("MIT kpasswd via the VIP:\n%s\nlogs:\n%s", out, n.logs.String())
	}
	n.must(newPW+"\n", "ip", "netns", "exec", cli, "kinit", "user")

	root := os.Getenv("KDCHA_HEIMDAL_ROOT")
	if root == "" {
		t.Log("Heimdal (UDP) part skipped: KDCHA_HEIMDAL_ROOT not set")
		return
	}
	final := "Changed-via-VIP-2"
	cmd := exec.Command("ip", "netns", "exec", cli, filepath.Join(root, "usr/bin/kpasswd.heimdal"), "user")
	cmd.Env = append(append([]string{}, n.env...), "LD_LIBRARY_PATH="+filepath.Join(root, "usr/lib/x86_64-linux-gnu"))
	cmd.Stdin = strings.NewReader(newPW + "\n" + final + "\n" + final + "\n")
	if hout, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(hout), "Password changed") {
		t.Fatalf("Heimdal kpasswd via the VIP: %v\n%s", err, hout)
	}
	if !n.waitLog("setpw request from 192.0.2.2 by user@DEV.KDCHA.TEST for user@DEV.KDCHA.TEST: success") ||
		!regexp.MustCompile(`setpw request .*: success" .* from=192\.0\.2\.2:\d+ transport=udp`).MatchString(n.logs.String()) {
		t.Fatalf("no UDP set-password from the client:\n%s", n.logs.String())
	}
	n.must(final+"\n", "ip", "netns", "exec", cli, "kinit", "user")
}

// TestAgentCreatesChangePW: a realm without kadmin/changepw (made before
// kpasswd existed; here deleted with --force) gets it back when the agent
// that leads starts.
func TestAgentCreatesChangePW(t *testing.T) {
	t.Parallel()
	n := newClusterNode(t, t.TempDir(), "n1")
	n.must(t, "", "cluster", "init", "--config", n.cfgPath)
	n.start(t)
	if out := n.must(t, "", "principal", "get", db.ChangePasswordPrincipal); !strings.Contains(out, "kadmin/changepw@CLUSTER.TEST") {
		t.Fatalf("cluster init did not create kadmin/changepw:\n%s", out)
	}
	n.must(t, "", "principal", "delete", db.ChangePasswordPrincipal, "--force")
	n.signal(syscall.SIGTERM)
	n.start(t)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(n.logs.String(), "created kadmin/changepw") {
		if time.Now().After(deadline) {
			t.Fatalf("the leader did not create kadmin/changepw at start:\n%s", n.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	n.must(t, "", "principal", "get", db.ChangePasswordPrincipal)
}
