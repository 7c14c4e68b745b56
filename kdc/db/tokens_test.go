package db

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"slices"
	"testing"
	"time"
)

func tokenHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestJoinTokenSingleUseOnEveryMember: a token added through one member
// is used once through another; every later use, through any member,
// fails with ErrJoinToken, and so does a token nobody added.
func TestJoinTokenSingleUseOnEveryMember(t *testing.T) {
	c := startCluster(t, 3, nil)
	ctx := testCtx(t)
	issuer, other := c.followers()[0], c.followers()[1]
	h := tokenHash("secret-1")
	if err := issuer.db.AddJoinToken(ctx, h, time.Hour); err != nil {
		t.Fatalf("add token: %v", err)
	}
	if err := other.db.UseJoinToken(ctx, h, "n4"); err != nil {
		t.Fatalf("use token on a member that did not issue it: %v", err)
	}
	for _, n := range c.all() {
		if err := n.db.UseJoinToken(ctx, h, "n5"); !errors.Is(err, ErrJoinToken) {
			t.Fatalf("second use through %s = %v, want ErrJoinToken", n.id, err)
		}
	}
	if err := issuer.db.UseJoinToken(ctx, tokenHash("never issued"), "n5"); !errors.Is(err, ErrJoinToken) {
		t.Fatalf("unknown token = %v, want ErrJoinToken", err)
	}
	if err := issuer.db.AddJoinToken(ctx, h, 0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("TTL 0 = %v, want ErrInvalid", err)
	}
	if err := issuer.db.AddJoinToken(ctx, "not-a-hash", time.Hour); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad hash = %v, want ErrInvalid", err)
	}
}

// TestJoinTokenExpiresAndIsPruned uses the FSM directly with command times,
// as every node applies them.
func TestJoinTokenExpiresAndIsPruned(t *testing.T) {
	f := newFSM(testRealm, testMasterKey(t), newIndex(testRealm), testLogger())
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	apply := func(c *command) error { return f.apply(c).Err }
	for i, hash := range []string{tokenHash("a"), tokenHash("b")} {
		if err := apply(&command{Op: opAddToken, Time: t0, Token: &joinTokenCmd{Hash: hash, Expires: t0.Add(time.Duration(i+1) * time.Hour)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := apply(&command{Op: opUseToken, Time: t0.Add(time.Hour), Token: &joinTokenCmd{Hash: tokenHash("a"), Node: "n2"}}); !errors.Is(err, ErrJoinToken) {
		t.Fatalf("use at expiry = %v, want ErrJoinToken", err)
	}
	if _, ok := f.st.tokens[tokenHash("a")]; ok {
		t.Fatal("expired token not pruned")
	}
	if err := apply(&command{Op: opUseToken, Time: t0.Add(time.Hour), Token: &joinTokenCmd{Hash: tokenHash("b"), Node: "n2"}}); err != nil {
		t.Fatalf("use before expiry: %v", err)
	}
	if got := f.st.tokens[tokenHash("b")]; got.UsedBy != "n2" {
		t.Fatalf("used token = %+v, want used by n2", got)
	}
}

// TestClusterStateSurvivesSnapshot: tokens and the sealed CA key are part
// of snapshots (a node that catches up from one knows them).
func TestClusterStateSurvivesSnapshot(t *testing.T) {
	d := openTestDB(t, t.TempDir())
	ctx := testCtx(t)
	if err := d.AddJoinToken(ctx, tokenHash("x"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := d.SetClusterCAKey(ctx, []byte("ca key der")); err != nil {
		t.Fatal(err)
	}
	snap, err := d.fsm.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := snap.(*fsmSnapshot).writeTo(&buf); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(buf.Bytes(), []byte("ca key der")) {
		t.Fatal("snapshot holds the CA key in the clear")
	}
	f := newFSM(testRealm, d.mk, newIndex(testRealm), testLogger())
	if err := f.Restore(io.NopCloser(&buf)); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if !slices.Equal(f.tokenList(), d.fsm.tokenList()) || !bytes.Equal(f.st.caKey, d.fsm.st.caKey) {
		t.Fatal("restored cluster state differs")
	}
}

// TestClusterCAKey: the key is stored sealed, read back on every member,
// and replaced by a later set.
func TestClusterCAKey(t *testing.T) {
	c := startCluster(t, 3, nil)
	ctx := testCtx(t)
	if _, err := c.leader().db.ClusterCAKey(); !errors.Is(err, ErrNotFound) {
		t.Fatalf("CA key before any was set = %v, want ErrNotFound", err)
	}
	if err := c.followers()[0].db.SetClusterCAKey(ctx, []byte("key one")); err != nil {
		t.Fatal(err)
	}
	if err := c.leader().db.SetClusterCAKey(ctx, []byte("key two")); err != nil {
		t.Fatal(err)
	}
	c.waitConverged()
	for _, n := range c.all() {
		if got, err := n.db.ClusterCAKey(); err != nil || string(got) != "key two" {
			t.Fatalf("%s: CA key = %q, %v", n.id, got, err)
		}
	}
}

// TestJoinUnderMemberNameRefused: adding a node ID that is a member at
// another address is refused (raft would move the member), the same
// address is accepted, and IsMember follows removal.
func TestJoinUnderMemberNameRefused(t *testing.T) {
	c := startCluster(t, 3, nil)
	ctx := testCtx(t)
	f := c.followers()[0]
	victim := c.followers()[1]
	for _, add := range []func() error{
		func() error { return f.db.AddNonvoter(ctx, victim.id, "127.0.0.1:1") },
		func() error { return f.db.AddVoter(ctx, victim.id, "127.0.0.1:1") },
		func() error { return f.db.CheckNewMember(victim.id, "127.0.0.1:1") },
	} {
		if err := add(); !errors.Is(err, ErrInvalid) {
			t.Fatalf("add under %s's name at another address = %v, want ErrInvalid", victim.id, err)
		}
	}
	if err := f.db.AddNonvoter(ctx, victim.id, string(victim.addr)); err != nil {
		t.Fatalf("same ID, same address: %v", err)
	}
	st, _ := c.leader().db.ClusterStatus()
	for _, m := range st.Members {
		if m.ID == victim.id && (m.Address != string(victim.addr) || !m.Voter) {
			t.Fatalf("%s changed: %+v", victim.id, m)
		}
	}
	if !f.db.IsMember(victim.id) || f.db.IsMember("stranger") {
		t.Fatal("IsMember does not follow the configuration")
	}
	if err := c.leader().db.RemoveServer(ctx, victim.id); err != nil {
		t.Fatal(err)
	}
	c.eventually("removal reached the follower", func() bool { return !f.db.IsMember(victim.id) })
}
