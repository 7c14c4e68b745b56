package db

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/kdcha/kdcha/cluster"
)

// testCA makes a CA certificate and its key, sealed with mk.
func testCA(t *testing.T, mk *MasterKey) (cert, sealed []byte) {
	t.Helper()
	cert, key, err := cluster.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	if sealed, err = mk.seal(caKeyOwner, 0, 0, key); err != nil {
		t.Fatal(err)
	}
	return cert, sealed
}

func caAdd(gen uint64, cert, old, sealed []byte) *command {
	return &command{Op: opClusterCAAdd, CAKey: sealed, ClusterCA: &caChange{Gen: gen, CACert: cert, OldCA: old}}
}

func caAck(gen uint64, node string, stage int) *command {
	return &command{Op: opClusterCAAck, ClusterCA: &caChange{Gen: gen, Node: node, Stage: stage}}
}

func caDrop(gen uint64) *command {
	return &command{Op: opClusterCADrop, ClusterCA: &caChange{Gen: gen}}
}

// TestClusterCARotationFSM: the credentials rotation commands are checked
// (the new CA's key must be its own, the current CA must be the one whose
// key the state holds, one rotation at a time, acks and drops only for
// the rotation in progress), survive a snapshot, and end with the new CA
// alone trusted and its key sealed in the state.
func TestClusterCARotationFSM(t *testing.T) {
	mk := testMasterKey(t)
	h := newHarness(t, mk)
	oldCert, oldSealed := testCA(t, mk)
	h.mustApply(&command{Op: opSetCAKey, Name: caKeyOwner, CAKey: oldSealed})
	newCert, newSealed := testCA(t, mk)
	otherCert, otherSealed := testCA(t, mk)

	for _, tt := range []struct {
		name string
		c    *command
		want error
	}{
		{"no payload", &command{Op: opClusterCAAdd, CAKey: newSealed}, ErrInvalid},
		{"generation skipped", caAdd(2, newCert, oldCert, newSealed), ErrConflict},
		{"key of another CA", caAdd(1, newCert, oldCert, otherSealed), ErrInvalid},
		{"current CA not the cluster's", caAdd(1, newCert, otherCert, newSealed), ErrInvalid},
		{"no current CA", caAdd(1, newCert, nil, newSealed), ErrInvalid},
		{"not a certificate", caAdd(1, []byte("x"), oldCert, newSealed), ErrInvalid},
		{"same CA again", caAdd(1, oldCert, oldCert, oldSealed), ErrInvalid},
		{"ack before a rotation", caAck(0, "n1", CATrusts), ErrConflict},
		{"drop before a rotation", caDrop(1), ErrConflict},
	} {
		if res := h.apply(tt.c); !errors.Is(res.Err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, res.Err, tt.want)
		}
	}
	h.mustApply(caAdd(1, newCert, oldCert, newSealed))
	if st := h.f.st.trust; st.Gen != 1 || !slices.EqualFunc(st.CAs, [][]byte{oldCert, newCert}, bytes.Equal) || !bytes.Equal(h.f.st.caKey, newSealed) {
		t.Fatalf("after add: %+v", st)
	}
	for _, tt := range []struct {
		name string
		c    *command
		want error
	}{
		{"second rotation while one runs", caAdd(2, otherCert, nil, otherSealed), ErrConflict},
		{"ack of another generation", caAck(2, "n1", CATrusts), ErrConflict},
		{"ack of an unknown stage", caAck(1, "n1", 3), ErrConflict},
		{"ack without a node", caAck(1, "", CATrusts), ErrConflict},
		{"drop of another generation", caDrop(2), ErrConflict},
	} {
		if res := h.apply(tt.c); !errors.Is(res.Err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, res.Err, tt.want)
		}
	}
	h.mustApply(caAck(1, "n1", CARenewed))
	h.mustApply(caAck(1, "n1", CATrusts)) // late, changes nothing
	h.mustApply(caAck(1, "n2", CATrusts))
	if got := h.f.st.trust.Acks; got["n1"] != CARenewed || got["n2"] != CATrusts {
		t.Fatalf("acks = %v", got)
	}

	snap := h.snapshot()
	r := newHarness(t, mk)
	if err := r.f.Restore(io.NopCloser(bytes.NewReader(snap))); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(snap, r.snapshot()) {
		t.Fatal("restore is not the identity")
	}
	select {
	case <-r.f.trustChanged:
	default:
		t.Fatal("restore did not signal a trust change")
	}

	h.mustApply(caDrop(1))
	h.mustApply(caDrop(1)) // again: nothing to do
	if st := h.f.st.trust; !slices.EqualFunc(st.CAs, [][]byte{newCert}, bytes.Equal) || st.Acks != nil {
		t.Fatalf("after drop: %+v", st)
	}
	if res := h.apply(caAck(1, "n3", CARenewed)); !errors.Is(res.Err, ErrConflict) {
		t.Fatalf("ack after the drop: %v", res.Err)
	}
	// The next rotation starts from the state's CA; a current CA in the
	// command is not needed.
	h.mustApply(caAdd(2, otherCert, nil, otherSealed))
	if st := h.f.st.trust; !slices.EqualFunc(st.CAs, [][]byte{newCert, otherCert}, bytes.Equal) {
		t.Fatalf("second rotation: %+v", st)
	}
}

// TestClusterTrustSnapshotRefusesGarbage: a snapshot's trust state is
// checked like a command.
func TestClusterTrustSnapshotRefusesGarbage(t *testing.T) {
	for _, ct := range []clusterTrust{
		{Gen: 1},
		{Gen: 0, CAs: [][]byte{{1}}},
		{Gen: 1, CAs: [][]byte{{1}}},
		{Gen: 1, CAs: [][]byte{{1}, {2}, {3}}},
	} {
		if err := ct.validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("validate(%+v) = %v, want ErrInvalid", ct, err)
		}
	}
}

// TestRotateClusterCredentialsCluster: driven from a follower, the rotation
// waits for every member to renew (here acknowledged by hand, as each
// node's credentials worker does), then drops the old CA on every replica;
// a member that does not renew is named and keeps the old CA trusted, and
// running the rotation again finishes it.
func TestRotateClusterCredentialsCluster(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3, nil)
	ctx := testCtx(t)
	oldCert, oldKey, err := cluster.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.leader().db.SetClusterCAKey(ctx, oldKey); err != nil {
		t.Fatal(err)
	}
	c.waitConverged()
	var newCert []byte
	newCA := func() ([]byte, []byte, error) {
		cert, key, err := cluster.NewCA()
		newCert = cert
		return cert, key, err
	}
	driver := c.followers()[0]
	lagging := c.followers()[1]
	for _, n := range c.all() {
		if n != lagging {
			go func() {
				for range n.db.ClusterTrustChanged() {
					t := n.db.ClusterTrust()
					if t.Rotating() && t.Acks[n.id] < CARenewed {
						n.db.AckClusterTrust(ctx, t.Generation, CARenewed)
						return
					}
				}
			}()
		}
	}
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	rep, err := driver.db.RotateClusterCredentials(short, oldCert, newCA)
	if !errors.Is(err, ErrConflict) || !rep.Started || rep.Generation != 1 {
		t.Fatalf("rotation with a member not renewing: %+v, %v", rep, err)
	}
	if !driver.db.ClusterTrust().Rotating() {
		t.Fatal("old CA dropped although a member had not renewed")
	}
	if err := lagging.db.AckClusterTrust(ctx, 1, CARenewed); err != nil {
		t.Fatal(err)
	}
	rep, err = driver.db.RotateClusterCredentials(ctx, oldCert, newCA)
	if err != nil || rep.Started || len(rep.Members) != 3 {
		t.Fatalf("resumed rotation: %+v, %v", rep, err)
	}
	c.waitConverged()
	for _, n := range c.all() {
		if got := n.db.ClusterTrust(); got.Rotating() || !bytes.Equal(got.CAs[0], newCert) {
			t.Fatalf("%s: trust after the rotation: %d CAs", n.id, len(got.CAs))
		}
		key, err := n.db.ClusterCAKey()
		if err != nil {
			t.Fatal(err)
		}
		if err := n.db.fsm.checkCAKey(n.db.fsm.st.caKey, mustParseCA(t, newCert)); err != nil || len(key) == 0 {
			t.Fatalf("%s: sealed CA key is not the new CA's: %v", n.id, err)
		}
	}
}

func mustParseCA(t *testing.T, der []byte) *x509.Certificate {
	t.Helper()
	c, err := parseCA(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
