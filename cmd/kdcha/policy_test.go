package main

import (
	"strings"
	"testing"
)

// TestCLIPolicies drives the policy verbs and the principal flags that use
// them, and lists principals with a glob.
func TestCLIPolicies(t *testing.T) {
	n := startDev(t, nil)
	if out := n.kdcha("policy", "get", "default"); !strings.Contains(out, "Minimum length:    8") || !strings.Contains(out, "Common passwords:  refused") {
		t.Fatalf("built-in default:\n%s", out)
	}
	n.kdcha("policy", "add", "staff", "--minlength", "12", "--minclasses", "3", "--history", "2", "--maxlife", "2160h")
	if out := n.kdcha("policy", "modify", "staff", "--minlength", "14"); !strings.Contains(out, "Minimum length:    14") || !strings.Contains(out, "History:           2") {
		t.Fatalf("modify keeps the other values:\n%s", out)
	}
	if out, err := n.run("Short-Pass-1\n", kdchaBin, "principal", "add", "carol", "--policy", "staff", "--password-file", "-"); err == nil ||
		!strings.Contains(out, "password refused by policy staff: minlength: 12 characters, at least 14 required") {
		t.Fatalf("weak password under staff: err %v\n%s", err, out)
	}
	n.must("A-Much-Longer-Pass-1\n", kdchaBin, "principal", "add", "carol", "--policy", "staff", "--password-file", "-")
	out := n.kdcha("principal", "get", "carol")
	if !strings.Contains(out, "Password policy:     staff") || strings.Contains(out, "Password expires:    never") {
		t.Fatalf("get carol:\n%s", out)
	}
	if out := n.kdcha("principal", "get", "user"); !strings.Contains(out, "Password policy:     default (realm default)") {
		t.Fatalf("get user:\n%s", out)
	}
	if out, err := n.run("", kdchaBin, "policy", "delete", "staff"); err == nil || !strings.Contains(out, "assigned to 1 principals") {
		t.Fatalf("delete a policy in use: err %v\n%s", err, out)
	}
	n.kdcha("principal", "add", "host/a.dev", "--random-key")
	n.kdcha("principal", "add", "host/b.dev", "--random-key")
	if out := n.kdcha("principal", "list", "host/*"); out != "host/a.dev@DEV.KDCHA.TEST\nhost/b.dev@DEV.KDCHA.TEST\n" {
		t.Fatalf("list host/*:\n%s", out)
	}
}
