package kpasswd

import (
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/kadmin"
)

func TestChangePassword(t *testing.T) {
	f := newFixture(t)
	for _, v := range []uint16{VersionChangePassword, VersionSetPassword} {
		pw := "new-secret-" + string(rune('a'+v%26))
		c := f.request(t, "alice", true, v, pw, "")
		code, text, isErr := result(t, f.handle(c.raw), c)
		if code != ResultSuccess || isErr {
			t.Fatalf("version %#x: result %d %q", v, code, text)
		}
		if !f.keyFor(t, "alice", pw) {
			t.Fatalf("version %#x: alice's key is not the new password's", v)
		}
	}
}

// gokrb5's client sends set-password naming the client itself as target:
// that is a change of one's own password, not a set-password of another.
func TestChangePasswordGokrb5Client(t *testing.T) {
	f := newFixture(t)
	tkt, sk := f.ticket(t, "alice", true)
	req, subkey, err := kadmin.ChangePasswdMsg(principalName("alice"), testRealm, "gokrb5-new-pass", tkt, sk)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	code, text, _ := result(t, f.handle(raw), clientReq{raw: raw, subkey: subkey, session: sk})
	if code != ResultSuccess || !f.keyFor(t, "alice", "gokrb5-new-pass") {
		t.Fatalf("result %d %q", code, text)
	}
}

func TestRefusals(t *testing.T) {
	tests := []struct {
		name    string
		client  string
		initial bool
		version uint16
		pw      string
		target  string
		code    uint16
		text    string
	}{
		{"ticket without INITIAL", "alice", false, VersionChangePassword, "new-secret-pass", "", ResultInitialFlagNeeded, "initial ticket"},
		{"short password", "alice", true, VersionChangePassword, "short", "", ResultSoftError, "Password refused by policy default: minlength: 5 characters, at least 8 required"},
		{"password contains the name", "alice", true, VersionChangePassword, "xxALICExxyy", "", ResultSoftError, `contains the principal name "alice"`},
		{"password not UTF-8", "alice", true, VersionChangePassword, "abc\xffdefgh", "", ResultSoftError, "UTF-8"},
		{"password too long", "alice", true, VersionChangePassword, strings.Repeat("x", MaxPasswordLen+1), "", ResultSoftError, "at most 1024"},
		{"set another's password without permission", "alice", true, VersionSetPassword, "new-secret-pass", "bob", ResultAccessDenied, "may not set the password of bob@"},
		{"set a protected principal's password", "admin", true, VersionSetPassword, "new-secret-pass", "kadmin/changepw", ResultAccessDenied, "keys are random"},
		{"set an unknown principal's password", "admin", true, VersionSetPassword, "new-secret-pass", "nobody", ResultHardError, "does not exist"},
		{"set with a weak password", "admin", true, VersionSetPassword, "short", "bob", ResultSoftError, "minlength"},
		{"common password", "alice", true, VersionChangePassword, "Password123", "", ResultSoftError, "default: dict: one of the most common passwords"},
	}
	f := newFixture(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := f.request(t, tc.client, tc.initial, tc.version, tc.pw, tc.target)
			code, text, isErr := result(t, f.handle(c.raw), c)
			if code != tc.code || !strings.Contains(text, tc.text) || isErr {
				t.Fatalf("result %d %q (KRB-ERROR %v), want %d containing %q in a KRB-PRIV", code, text, isErr, tc.code, tc.text)
			}
			if !f.keyFor(t, "alice", "old-secret-pass") || !f.keyFor(t, "bob", "old-secret-pass") {
				t.Fatal("a refused request changed a password")
			}
		})
	}
}

func TestSetPasswordWithPermission(t *testing.T) {
	f := newFixture(t)
	// An admin's ticket need not be initial to set another's password (MIT).
	c := f.request(t, "admin", false, VersionSetPassword, "new-pass-4-b0b", "bob")
	if code, text, _ := result(t, f.handle(c.raw), c); code != ResultSuccess {
		t.Fatalf("result %d %q", code, text)
	}
	if !f.keyFor(t, "bob", "new-pass-4-b0b") {
		t.Fatal("bob's key is not the new password's")
	}
}

func TestReplayedAuthenticatorRefused(t *testing.T) {
	f := newFixture(t)
	c := f.request(t, "alice", true, VersionChangePassword, "first-new-pass", "")
	first := f.handle(c.raw)
	if code, text, _ := result(t, first, c); code != ResultSuccess {
		t.Fatalf("result %d %q", code, text)
	}
	// A UDP retransmission gets the same reply and changes nothing more.
	if again := f.handle(c.raw); string(again) != string(first) {
		t.Fatal("a retransmitted request did not get the first reply")
	}
	// The same AP-REQ with another KRB-PRIV is a replay.
	apLen := int(c.raw[4])<<8 | int(c.raw[5])
	other := f.request(t, "alice", true, VersionChangePassword, "attacker-pass", "")
	otherAPLen := int(other.raw[4])<<8 | int(other.raw[5])
	spliced, err := EncodeRequest(VersionChangePassword, c.raw[6:6+apLen], other.raw[6+otherAPLen:])
	if err != nil {
		t.Fatal(err)
	}
	code, text, isErr := result(t, f.handle(spliced), c)
	if code != ResultAuthError || !isErr || !strings.Contains(text, "replay") {
		t.Fatalf("replay: result %d %q (KRB-ERROR %v)", code, text, isErr)
	}
	if !f.keyFor(t, "alice", "first-new-pass") {
		t.Fatal("the spliced replay changed the password")
	}
	// After a later change, replaying the first request must not set its
	// password again (it gets its old reply, nothing is written).
	later := f.request(t, "alice", true, VersionChangePassword, "second-new-pass", "")
	if code, text, _ := result(t, f.handle(later.raw), later); code != ResultSuccess {
		t.Fatalf("second change: result %d %q", code, text)
	}
	f.handle(c.raw)
	if !f.keyFor(t, "alice", "second-new-pass") {
		t.Fatal("replaying the first request reverted the password")
	}
	// Past the skew window the authenticator is too old anyway.
	f.now = f.now.Add(6 * time.Minute)
	if code, _, _ := result(t, f.handle(c.raw), c); code != ResultAuthError {
		t.Fatalf("stale authenticator: result %d", code)
	}
}

func TestReplayCacheLimit(t *testing.T) {
	f := newFixture(t)
	f.h.replay = newReplayCache(1)
	a := f.request(t, "alice", true, VersionChangePassword, "first-new-pass", "")
	if code, _, _ := result(t, f.handle(a.raw), a); code != ResultSuccess {
		t.Fatalf("first request: %d", code)
	}
	b := f.request(t, "bob", true, VersionChangePassword, "second-new-pass", "")
	if code, text, _ := result(t, f.handle(b.raw), b); code != ResultHardError || !strings.Contains(text, "busy") {
		t.Fatalf("request beyond the cache: result %d %q", code, text)
	}
	f.now = f.now.Add(6 * time.Minute) // the first entry expires
	c := f.request(t, "bob", true, VersionChangePassword, "second-new-pass", "")
	if code, text, _ := result(t, f.handle(c.raw), c); code != ResultSuccess {
		t.Fatalf("after expiry: result %d %q", code, text)
	}
}

func TestAuthenticationFailures(t *testing.T) {
	f := newFixture(t)
	c := f.request(t, "alice", true, VersionChangePassword, "new-secret-pass", "")
	apLen := int(c.raw[4])<<8 | int(c.raw[5])
	tampered := append([]byte(nil), c.raw...)
	tampered[6+apLen-5] ^= 0xff // inside the authenticator's ciphertext
	wrongVersion := append([]byte(nil), c.raw...)
	wrongVersion[3] = 2
	for name, tc := range map[string]struct {
		raw  []byte
		code uint16
	}{
		"tampered AP-REQ":  {tampered, ResultAuthError},
		"unknown version":  {wrongVersion, ResultBadVersion},
		"length mismatch":  {append(append([]byte(nil), c.raw...), 0), ResultMalformed},
		"no KRB-PRIV":      {mustEncode(t, c.raw[6:6+apLen], nil), ResultMalformed},
		"garbage KRB-PRIV": {mustEncode(t, c.raw[6:6+apLen], []byte{0x75, 0x01, 0x00}), ResultMalformed},
	} {
		code, text, _ := result(t, f.handle(tc.raw), c)
		if code != tc.code {
			t.Errorf("%s: result %d %q, want %d", name, code, text, tc.code)
		}
	}
	if !f.keyFor(t, "alice", "old-secret-pass") {
		t.Fatal("a refused request changed the password")
	}
}

func mustEncode(t *testing.T, ap, priv []byte) []byte {
	t.Helper()
	b, err := EncodeRequest(VersionChangePassword, ap, priv)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Messages that are not requests (a reply, a KDC request, noise) are
// dropped, so two servers cannot answer each other's errors forever.
func TestNonRequestsDropped(t *testing.T) {
	f := newFixture(t)
	errReply := f.handle([]byte{0, 8, 0, 1, 0, 1, 0x6e, 0})
	if errReply == nil {
		t.Fatal("a malformed request got no reply")
	}
	for name, b := range map[string][]byte{
		"empty":     nil,
		"short":     {0, 4, 0, 1},
		"our reply": errReply,
		"an AS-REQ": {0x6a, 0x81, 0x00, 0, 0, 0, 0},
	} {
		if r := f.handle(b); r != nil {
			t.Errorf("%s: got a %d-byte reply", name, len(r))
		}
	}
}
