package main

import (
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/kadmin"

	"github.com/kdcha/kdcha/kdc/db"
	"github.com/kdcha/kdcha/kpasswd"
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
	if !strings.Contains(n.must("", "cat", n.dir+"/krb5.conf"), "kpasswd_server = "+n.kpasswd) {
		t.Fatal("krb5.conf does not name the kpasswd server")
	}

	// A policy violation: soft error, the rule in the text.
	out, err := n.run(n.password+"\nshort\nshort\n", "kpasswd", "user")
	if err == nil || !strings.Contains(out, "Password change rejected") || !strings.Contains(out, "need at least 8") {
		t.Fatalf("weak password: err %v, output:\n%s", err, out)
	}
	if !n.waitLog("chpw request from 127.0.0.1 by user@DEV.KDCHA.TEST for user@DEV.KDCHA.TEST: set password of user@DEV.KDCHA.TEST: password too weak: 5 characters") {
		t.Fatalf("no log line for the refusal:\n%s", n.logs.String())
	}

	newPW := "Fresh-kpasswd-Secret-1"
	out = n.must(n.password+"\n"+newPW+"\n"+newPW+"\n", "kpasswd", "user")
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
