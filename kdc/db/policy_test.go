package db

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestPolicyRulesThroughDB checks every policy rule on the admin path
// (Create, SetPassword) and the self-service one (ChangePassword): each
// refusal wraps ErrWeakPassword and names the policy and the rule.
func TestPolicyRulesThroughDB(t *testing.T) {
	ctx := testCtx(t)
	d := openTestDB(t, t.TempDir())
	if err := d.SetPolicy(ctx, PasswordPolicy{Name: "staff", MinLength: 10, MinClasses: 3, History: 3, MinLife: time.Hour, MaxLife: 90 * 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	refused := func(err error, want string) {
		t.Helper()
		if !errors.Is(err, ErrWeakPassword) || !strings.Contains(err.Error(), want) {
			t.Fatalf("err = %v, want ErrWeakPassword mentioning %q", err, want)
		}
	}
	_, err := d.Create(ctx, CreateRequest{Name: "alice", Password: ptr("Short1!"), Policy: "staff"})
	refused(err, "staff: minlength: 7 characters, at least 10")
	_, err = d.Create(ctx, CreateRequest{Name: "alice", Password: ptr("onlylowercase"), Policy: "staff"})
	refused(err, "staff: minclasses")
	_, err = d.Create(ctx, CreateRequest{Name: "alice", Password: ptr("letmein"), Policy: "nosuch"})
	refused(err, "default: minlength") // an unknown policy name falls back to the default for the check...
	_, err = d.Create(ctx, CreateRequest{Name: "alice", Password: ptr("Zebra-Crossing-1"), Policy: "nosuch"})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "policy nosuch does not exist") {
		t.Fatalf("create with unknown policy: %v", err) // ...and the FSM refuses assigning it
	}
	before := time.Now()
	p, err := d.Create(ctx, CreateRequest{Name: "alice", Password: ptr("Zebra-Crossing-1"), Policy: "staff"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Policy != "staff" || p.PasswordChanged.Before(before.Add(-time.Second)) ||
		p.PasswordExpires.Sub(p.PasswordChanged) != 90*24*time.Hour {
		t.Fatalf("after create: policy %q, changed %s, expires %s", p.Policy, p.PasswordChanged, p.PasswordExpires)
	}

	// Min life binds the owner, not an admin.
	_, err = d.ChangePassword(ctx, "alice", "Yellow-Submarine-2")
	refused(err, "staff: minlife: changed")
	if _, err := d.SetPassword(ctx, "alice", "Yellow-Submarine-2"); err != nil {
		t.Fatalf("admin set within min life: %v", err)
	}
	// History 3: the current password and the two before it.
	_, err = d.SetPassword(ctx, "alice", "Yellow-Submarine-2")
	refused(err, "staff: history: the password is one of the last 3")
	if _, err := d.SetPassword(ctx, "alice", "Purple-Rain-Falls-3"); err != nil {
		t.Fatal(err)
	}
	_, err = d.SetPassword(ctx, "alice", "Zebra-Crossing-1")
	refused(err, "history")
	if _, err := d.SetPassword(ctx, "alice", "Green-Day-Sunday-4"); err != nil {
		t.Fatal(err)
	}
	// Zebra is now the fourth password back: allowed again.
	if _, err := d.SetPassword(ctx, "alice", "Zebra-Crossing-1"); err != nil {
		t.Fatalf("password older than the history: %v", err)
	}

	// The realm default governs principals without a policy; storing a
	// policy called "default" replaces the built-in one.
	if _, err := d.Create(ctx, CreateRequest{Name: "bob", Password: ptr("Password123")}); !errors.Is(err, ErrWeakPassword) || !strings.Contains(err.Error(), "default: dict") {
		t.Fatalf("common password: %v", err)
	}
	if err := d.SetPolicy(ctx, PasswordPolicy{Name: DefaultPolicyName, MinLength: 12}); err != nil {
		t.Fatal(err)
	}
	_, err = d.Create(ctx, CreateRequest{Name: "bob", Password: ptr("Eleven-char")})
	refused(err, "default: minlength: 11 characters, at least 12")
	if _, err := d.Create(ctx, CreateRequest{Name: "bob", Password: ptr("Twelve-chars")}); err != nil {
		t.Fatal(err)
	}

	// Policies in use cannot be deleted; unused ones can.
	if err := d.DeletePolicy(ctx, "staff"); !errors.Is(err, ErrConflict) {
		t.Fatalf("delete policy in use: %v", err)
	}
	if _, err := d.Modify(ctx, "alice", Modification{Policy: ptr("")}); err != nil {
		t.Fatal(err)
	}
	if err := d.DeletePolicy(ctx, "staff"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Policy("staff"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted policy: %v", err)
	}
}

// TestFSMMinLifeElapses checks min life against the command times the
// leader stamps: refused before, accepted after.
func TestFSMMinLifeElapses(t *testing.T) {
	mk := testMasterKey(t)
	h := newHarness(t, mk)
	h.mustApply(&command{Op: opSetPolicy, PasswordPolicy: &PasswordPolicy{Name: "p", MinLife: time.Hour, MaxLife: 24 * time.Hour}})
	name := "alice@" + testRealm
	keys := func(pw string, kvno uint32) []sealedKey {
		pk, err := passwordKeys(pw, []string{"alice"}, testRealm, DefaultEncTypes)
		if err != nil {
			t.Fatal(err)
		}
		s, err := sealKeys(mk, name, kvno, pk)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	p := h.mustApply(&command{Op: opCreate, Name: name, KVNO: 1, Keys: keys("first-password", 1), Policy: ptr("p"), Password: true, Time: t0})
	if !p.PasswordExpires.Equal(t0.Add(24 * time.Hour)) {
		t.Fatalf("password expires %s", p.PasswordExpires)
	}
	res := h.apply(&command{Op: opSetKeys, Name: name, KVNO: 2, Keys: keys("second-password", 2), Password: true, SelfService: true, Time: t0.Add(59 * time.Minute)})
	if !errors.Is(res.Err, ErrWeakPassword) || !strings.Contains(res.Err.Error(), "minlife") {
		t.Fatalf("change within min life: %v", res.Err)
	}
	at := t0.Add(61 * time.Minute)
	p = h.mustApply(&command{Op: opSetKeys, Name: name, KVNO: 2, Keys: keys("second-password", 2), Password: true, SelfService: true, Time: at})
	if !p.PasswordChanged.Equal(at) || !p.PasswordExpires.Equal(at.Add(24*time.Hour)) {
		t.Fatalf("after change: changed %s, expires %s", p.PasswordChanged, p.PasswordExpires)
	}
}

func TestPolicyCheck(t *testing.T) {
	for _, p := range []PasswordPolicy{
		{Name: ""}, {Name: "a b"}, {Name: "p", MinLength: -1}, {Name: "p", MinClasses: 6},
		{Name: "p", History: maxHistory + 1}, {Name: "p", MinLength: maxPasswordRunes + 1}, {Name: "p", MaxLife: -time.Second},
	} {
		if err := p.check(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", p, err)
		}
	}
}
