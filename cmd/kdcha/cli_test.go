package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIBadInput checks that every kind of bad admin input gets a clear
// message and a non-zero exit, and changes nothing.
func TestCLIBadInput(t *testing.T) {
	n := startDev(t, nil)
	pwFile := func(pw string) string {
		p := filepath.Join(t.TempDir(), "pw")
		if err := os.WriteFile(p, []byte(pw+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	before := n.kdcha("principal", "list")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown principal", []string{"principal", "get", "nobody"}, "not found"},
		{"delete unknown", []string{"principal", "delete", "nobody"}, "not found"},
		{"rekey unknown", []string{"principal", "rekey", "nobody"}, "not found"},
		{"bad name", []string{"principal", "add", "bad//name", "--random-key"}, "invalid principal name"},
		{"other realm", []string{"principal", "add", "x@OTHER.REALM", "--random-key"}, "invalid principal name"},
		{"empty password", []string{"principal", "add", "carol", "--password-file", pwFile("")}, "password"},
		{"short password", []string{"principal", "add", "carol", "--password-file", pwFile("abc")}, "password refused by policy"},
		{"password contains name", []string{"principal", "add", "carol", "--password-file", pwFile("Carol-is-great-2026")}, "password refused by policy"},
		{"existing principal", []string{"principal", "add", "user", "--random-key"}, "already exists"},
		{"no password source", []string{"principal", "add", "carol"}, "--password-file"},
		{"both password sources", []string{"principal", "add", "carol", "--random-key", "--password-file", pwFile("x")}, "not both"},
		{"keytab of unknown", []string{"keytab", "export", "nobody", "-o", filepath.Join(t.TempDir(), "kt")}, "not found"},
		{"keytab without -o", []string{"keytab", "export", "user"}, "-o FILE"},
		{"modify nothing", []string{"principal", "modify", "user"}, "nothing to change"},
		{"no node", []string{"--admin-socket", filepath.Join(t.TempDir(), "none.sock"), "principal", "list"}, "unreachable"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := n.run("", kdchaBin, c.args...)
			if err == nil {
				t.Fatalf("kdcha %s succeeded:\n%s", strings.Join(c.args, " "), out)
			}
			if !strings.Contains(out, c.want) {
				t.Fatalf("kdcha %s: message %q does not mention %q", strings.Join(c.args, " "), out, c.want)
			}
			if strings.Count(strings.TrimSpace(out), "\n") > 0 {
				t.Errorf("error should be one line, got:\n%s", out)
			}
		})
	}
	if after := n.kdcha("principal", "list"); after != before {
		t.Fatalf("bad input changed the database:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	// The user's key did not change either: kinit still works with the
	// printed password and kvno is still 1.
	n.kinit()
	if out := n.kdcha("principal", "get", "user"); !strings.Contains(out, "Key version:         1") {
		t.Fatalf("user changed:\n%s", out)
	}
}

// TestCLIPrincipalLifecycle walks a principal through every verb.
func TestCLIPrincipalLifecycle(t *testing.T) {
	requireMIT(t)
	n := startDev(t, nil)
	n.must("Sup3r-secret-pw\n", kdchaBin, "principal", "add", "carol", "--password-file", "-", "--max-life", "2h")
	if out := n.kdcha("principal", "get", "carol"); !strings.Contains(out, "Requires preauth:    true") || !strings.Contains(out, "Max life:            2h0m0s") {
		t.Fatalf("get:\n%s", out)
	}
	n.must("Sup3r-secret-pw\n", "kinit", "carol")
	n.kdcha("principal", "modify", "carol", "--disabled")
	if out, err := n.run("Sup3r-secret-pw\n", "kinit", "carol"); err == nil || !strings.Contains(out, "revoked") {
		t.Fatalf("kinit of a disabled principal: err=%v\n%s", err, out)
	}
	n.kdcha("principal", "modify", "carol", "--disabled=false")
	n.must("An0ther-secret-pw\n", kdchaBin, "principal", "set-password", "carol", "--password-file", "-")
	if out, err := n.run("Sup3r-secret-pw\n", "kinit", "carol"); err == nil {
		t.Fatalf("old password still works:\n%s", out)
	}
	n.must("An0ther-secret-pw\n", "kinit", "carol")
	if out := n.kdcha("principal", "get", "carol", "--json"); !strings.Contains(out, `"kvno": 2`) {
		t.Fatalf("kvno after set-password:\n%s", out)
	}
	// Delete and re-create: the kvno continues upwards.
	n.kdcha("principal", "delete", "carol")
	n.kdcha("principal", "add", "carol", "--random-key")
	if out := n.kdcha("principal", "get", "carol", "--json"); !strings.Contains(out, `"kvno": 3`) {
		t.Fatalf("kvno after delete and re-create went backwards:\n%s", out)
	}
}

// TestCLIProtectedPrincipals replays the golden-ticket attack through the
// CLI: deleting the realm's krbtgt and then making it an alias of a user
// whose password the attacker knows. Both steps are refused, and
// --clear-aliases really clears.
func TestCLIProtectedPrincipals(t *testing.T) {
	requireMIT(t)
	n := startDev(t, nil)
	const tgs = "krbtgt/DEV.KDCHA.TEST"
	for _, args := range [][]string{
		{"principal", "delete", tgs},
		{"principal", "delete", tgs, "--force"},
		{"principal", "modify", "user", "--alias", tgs},
	} {
		out, err := n.run("", kdchaBin, args...)
		if err == nil || !strings.Contains(out, "protected principal") {
			t.Fatalf("kdcha %s: err=%v\n%s", strings.Join(args, " "), err, out)
		}
	}
	n.kdcha("principal", "add", "krbtgt/OTHER.TEST", "--random-key")
	if out, err := n.run("", kdchaBin, "principal", "delete", "krbtgt/OTHER.TEST"); err == nil || !strings.Contains(out, "--force") {
		t.Fatalf("delete a cross-realm krbtgt without --force: err=%v\n%s", err, out)
	}
	n.kdcha("principal", "delete", "krbtgt/OTHER.TEST", "--force")
	n.kinit()
	n.must("", "kvno", tgs+"@DEV.KDCHA.TEST")

	n.kdcha("principal", "add", "svc/a", "--random-key", "--alias", "svc/b")
	if out := n.kdcha("principal", "get", "svc/a", "--json"); !strings.Contains(out, "svc/b@DEV.KDCHA.TEST") {
		t.Fatalf("alias not set:\n%s", out)
	}
	n.kdcha("principal", "modify", "svc/a", "--clear-aliases")
	if out := n.kdcha("principal", "get", "svc/a", "--json"); strings.Contains(out, "svc/b") {
		t.Fatalf("--clear-aliases left the alias:\n%s", out)
	}
	if out, err := n.run("", kdchaBin, "principal", "get", "svc/b"); err == nil {
		t.Fatalf("the cleared alias still resolves:\n%s", out)
	}
}

func TestVersion(t *testing.T) {
	out, err := exec.Command(kdchaBin, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "kdcha ") || !strings.Contains(string(out), " go1.") {
		t.Fatalf("kdcha version: %v\n%s", err, out)
	}
}
