package db

import (
	"testing"
	"time"
)

// TestFSMPasswordExpiryFollowsPolicy: assigning a policy, and changing the
// max life of a policy, recompute the password expiration of the
// principals it governs (last change + max life, 0 = never) in the FSM,
// identically on two replicas; principals without a known password
// change, and expirations an administrator set, are kept.
func TestFSMPasswordExpiryFollowsPolicy(t *testing.T) {
	mk := testMasterKey(t)
	a, b := newHarness(t, mk), newHarness(t, mk)
	day := 24 * time.Hour
	at := func(d int) time.Time { return t0.Add(time.Duration(d) * day) }
	// apply runs one command on both replicas and returns a's principal.
	apply := func(c *command, when time.Time) *Principal {
		t.Helper()
		c.Time = when
		enc := a.encode(c)
		ra, rb := a.applyBytes(enc), b.applyBytes(enc)
		if ra.Err != nil || rb.Err != nil {
			t.Fatalf("%s %s: %v / %v", c.Op, c.Name, ra.Err, rb.Err)
		}
		return ra.Principal
	}
	setPolicy := func(p PasswordPolicy, when time.Time) {
		t.Helper()
		apply(&command{Op: opSetPolicy, PasswordPolicy: &p}, when)
	}
	expiry := func(name string) time.Time {
		t.Helper()
		p, ok := a.f.index.Lookup(name + "@" + testRealm)
		if !ok {
			t.Fatalf("%s missing", name)
		}
		return p.PasswordExpires
	}
	want := func(what, name string, exp time.Time) {
		t.Helper()
		if got := expiry(name); !got.Equal(exp) {
			t.Fatalf("%s: %s password expires %s, want %s", what, name, got, exp)
		}
	}
	user := func(name string) *command {
		c := a.create(name+"@"+testRealm, 1)
		c.Password = true
		return c
	}
	apply(user("alice"), at(0))
	apply(user("bob"), at(0))
	apply(user("carol"), at(0))
	apply(a.create("svc@"+testRealm, 1), at(0)) // random keys: no password change time
	want("built-in default", "alice", time.Time{})

	setPolicy(PasswordPolicy{Name: "staff", MaxLife: 90 * day}, at(1))
	want("unassigned policy", "alice", time.Time{})

	// Assignment: last change + max life, not now + max life.
	p := apply(&command{Op: opModify, Name: "alice@" + testRealm, Policy: ptr("staff")}, at(2))
	if !p.PasswordExpires.Equal(at(90)) {
		t.Fatalf("assigned staff: expires %s, want %s", p.PasswordExpires, at(90))
	}
	// An expiration given in the same command wins (a forced change).
	apply(&command{Op: opModify, Name: "carol@" + testRealm, Policy: ptr("staff"), PasswordExpires: ptr(at(5))}, at(3))
	want("explicit expiry", "carol", at(5))

	// Changing the policy's max life moves every governed principal whose
	// expiry it made; the one set by hand stays.
	rev := a.f.revision()
	setPolicy(PasswordPolicy{Name: "staff", MaxLife: 30 * day, MinLength: 12}, at(4))
	want("staff maxlife 30d", "alice", at(30))
	want("forced change kept through staff maxlife 30d", "carol", at(5))
	want("not governed by staff", "bob", time.Time{})
	if p, _ := a.f.index.Lookup("alice@" + testRealm); p.Revision != rev+1 || !p.Modified.Equal(at(4)) {
		t.Fatalf("recomputed record: revision %d (want %d), modified %s", p.Revision, rev+1, p.Modified)
	}
	// A change that keeps the max life changes no principal.
	rev = a.f.revision()
	setPolicy(PasswordPolicy{Name: "staff", MaxLife: 30 * day, MinLength: 14}, at(5))
	if a.f.revision() != rev {
		t.Fatalf("revision moved from %d to %d without an expiry change", rev, a.f.revision())
	}

	// The realm default governs bob and svc; svc has no password to age.
	setPolicy(PasswordPolicy{Name: DefaultPolicyName, MaxLife: 10 * day}, at(6))
	want("default maxlife 10d", "bob", at(10))
	want("random-key principal", "svc", time.Time{})
	want("governed by staff", "alice", at(30))

	// Back to "never": max life 0, and deleting the stored default.
	setPolicy(PasswordPolicy{Name: "staff"}, at(7))
	want("staff maxlife 0", "alice", time.Time{})
	apply(&command{Op: opDeletePolicy, PasswordPolicy: &PasswordPolicy{Name: DefaultPolicyName}}, at(8))
	want("default deleted", "bob", time.Time{})

	// Clearing the policy falls back to the default's max life.
	setPolicy(PasswordPolicy{Name: DefaultPolicyName, MaxLife: 20 * day}, at(9))
	apply(&command{Op: opModify, Name: "alice@" + testRealm, Policy: ptr("")}, at(10))
	want("policy cleared", "alice", at(20))

	if a.state() != b.state() {
		t.Fatalf("replicas differ:\n%s\n%s", a.state(), b.state())
	}
	// A rejected policy changes nothing.
	before := a.state()
	if res := a.apply(&command{Op: opSetPolicy, Time: at(11), PasswordPolicy: &PasswordPolicy{Name: DefaultPolicyName, MaxLife: -day}}); res.Err == nil {
		t.Fatal("negative max life accepted")
	}
	if a.state() != before {
		t.Fatal("a rejected set_policy changed the state")
	}
}
