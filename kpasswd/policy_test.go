package kpasswd

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kdcha/kdcha/kdc/db"
)

// TestPolicyRules checks that each password policy rule refuses a kpasswd
// request with the soft-error code and a text naming the policy and the
// rule, and that min life binds a principal's own change, not an admin's
// set-password.
func TestPolicyRules(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, p := range []db.PasswordPolicy{
		{Name: "strict", MinLength: 12, MinClasses: 3, History: 2},
		{Name: "slow", MinLife: time.Hour},
	} {
		if err := f.db.SetPolicy(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	for name, pol := range map[string]string{"alice": "strict", "bob": "slow"} {
		if _, err := f.db.Modify(ctx, name, db.Modification{Policy: &pol}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.db.SetPassword(ctx, "alice", "Old-Secret-Pass-1"); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		client, target, pw string
		version            uint16
		code               uint16
		text               string
	}{
		{"alice", "", "Short-1", VersionChangePassword, ResultSoftError, "Password refused by policy strict: minlength: 7 characters, at least 12 required"},
		{"alice", "", "alllowercaseletters", VersionChangePassword, ResultSoftError, "Password refused by policy strict: minclasses: 1 character classes, at least 3 required"},
		{"alice", "", "Old-Secret-Pass-1", VersionChangePassword, ResultSoftError, "Password refused by policy strict: history: the password is one of the last 2 passwords"},
		{"alice", "", "New-Secret-Pass-2", VersionChangePassword, ResultSuccess, "Password changed"},
		{"alice", "", "Old-Secret-Pass-1", VersionChangePassword, ResultSoftError, "strict: history"},
		{"alice", "", "Third-Secret-Pass-3", VersionChangePassword, ResultSuccess, "Password changed"},
		{"alice", "", "Old-Secret-Pass-1", VersionChangePassword, ResultSuccess, "Password changed"},
		{"bob", "", "Brand-New-Pass-1", VersionChangePassword, ResultSoftError, "Password refused by policy slow: minlife: changed"},
		{"admin", "bob", "Brand-New-Pass-1", VersionSetPassword, ResultSuccess, "Password changed"},
	}
	for i, s := range steps {
		c := f.request(t, s.client, true, s.version, s.pw, s.target)
		code, text, isErr := result(t, f.handle(c.raw), c)
		if code != s.code || isErr || !strings.Contains(text, s.text) {
			t.Fatalf("step %d (%s sets %q): result %d %q, want %d containing %q", i, s.client, s.pw, code, text, s.code, s.text)
		}
	}
	if !f.keyFor(t, "alice", "Old-Secret-Pass-1") || !f.keyFor(t, "bob", "Brand-New-Pass-1") {
		t.Fatal("the accepted changes are not in the database")
	}
}
