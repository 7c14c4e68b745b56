package main

import (
	"strings"
	"testing"
)

// TestMITKinitExpiredPassword expires the user's password and lets MIT
// kinit run its own change flow: it is told the password expired, gets a
// kadmin/changepw ticket with the old password (the one request an
// expired password is allowed), prompts for a new one twice, changes it
// through kpasswd and logs in with it. An expired principal gets
// KDC_ERR_NAME_EXP, which kinit reports as such.
func TestMITKinitExpiredPassword(t *testing.T) {
	requireMITKpasswd(t)
	n := startDev(t, nil)
	n.kdcha("principal", "modify", "user", "--password-expires", "now")
	if out := n.kdcha("principal", "get", "user"); strings.Contains(out, "Password expires:    never") {
		t.Fatalf("password expiration not set:\n%s", out)
	}
	// A weak new password is refused in the flow, with the rule.
	out, err := n.run(n.password+"\nshort\nshort\n", "kinit", "user")
	if err == nil || !strings.Contains(out, "Password expired") || !strings.Contains(out, "minlength") {
		t.Fatalf("kinit with a weak new password: err %v\n%s", err, out)
	}
	newPW := "Expired-Then-Changed-1"
	out = n.must(n.password+"\n"+newPW+"\n"+newPW+"\n", "kinit", "user")
	if !strings.Contains(out, "Password expired.  You must change it now.") {
		t.Fatalf("kinit did not run the expired-password flow:\n%s", out)
	}
	if out := n.must("", "klist"); !strings.Contains(out, "krbtgt/DEV.KDCHA.TEST@DEV.KDCHA.TEST") {
		t.Fatalf("klist after the change:\n%s", out)
	}
	n.must(newPW+"\n", "kinit", "user")
	if out, err := n.run(n.password+"\n", "kinit", "user"); err == nil {
		t.Fatalf("the old password still works:\n%s", out)
	}

	n.kdcha("principal", "modify", "user", "--expires", "now")
	if out, err := n.run(newPW+"\n", "kinit", "user"); err == nil || !strings.Contains(out, "Client's entry in database has expired") {
		t.Fatalf("kinit of an expired principal: err %v\n%s", err, out)
	}
	n.kdcha("principal", "modify", "user", "--expires", "never")
	n.must(newPW+"\n", "kinit", "user")
}
