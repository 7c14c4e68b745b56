package db

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// CredentialsRotation says what RotateClusterCredentials did.
type CredentialsRotation struct {
	// Generation is the rotation's number (1 for a cluster's first).
	Generation uint64
	// Started is false when the call resumed a rotation started earlier.
	Started bool
	// Members are the nodes that renewed their certificate.
	Members []string
}

// credentialsAckWait bounds how long RotateClusterCredentials waits for
// every member to trust the new CA and then to renew its certificate.
const credentialsAckWait = 30 * time.Second

// RotateClusterCredentials replaces the cluster CA on a live cluster: it
// stores a new CA (newCA makes its certificate and PKCS#8 key; currentCA
// is this node's CA certificate, needed on a cluster that never rotated),
// waits until every member of the Raft configuration has renewed its
// certificate from it (each node does so on its own once every member
// trusts the new CA, see ClusterTrust), then drops the old CA from the
// trusted ones. It resumes a rotation an earlier call left unfinished, so
// after any failure the remedy is to call it again. A member that does
// not renew (down, cut off) keeps the old CA trusted: the error names it.
func (d *DB) RotateClusterCredentials(ctx context.Context, currentCA []byte, newCA func() (cert, key []byte, err error)) (CredentialsRotation, error) {
	d.rotateMu.Lock()
	defer d.rotateMu.Unlock()
	if err := d.Sync(ctx); err != nil {
		return CredentialsRotation{}, fmt.Errorf("rotate cluster credentials: %w", err)
	}
	t := d.ClusterTrust()
	var rep CredentialsRotation
	if !t.Rotating() {
		cert, key, err := newCA()
		if err != nil {
			return rep, fmt.Errorf("rotate cluster credentials: %w", err)
		}
		sealed, err := d.mk.seal(caKeyOwner, 0, 0, key)
		clear(key)
		if err != nil {
			return rep, fmt.Errorf("rotate cluster credentials: seal CA key: %w", err)
		}
		cc := &caChange{Gen: t.Generation + 1, CACert: cert}
		if len(t.CAs) == 0 {
			cc.OldCA = currentCA
		}
		_, err = d.propose(ctx, &command{Op: opClusterCAAdd, CAKey: sealed, ClusterCA: cc})
		switch {
		case errors.Is(err, ErrConflict):
			// Another rotation won the race: resume it.
			if err := d.Sync(ctx); err != nil {
				return rep, fmt.Errorf("rotate cluster credentials: %w", err)
			}
		case err != nil:
			return rep, fmt.Errorf("rotate cluster credentials: %w", err)
		default:
			rep.Started = true
		}
		t = d.ClusterTrust()
	}
	rep.Generation = t.Generation
	d.log.Info("rotating the cluster credentials", "generation", t.Generation, "started", rep.Started)
	members, err := d.awaitTrustAcks(ctx, t.Generation)
	rep.Members = members
	if err != nil {
		return rep, fmt.Errorf("rotate cluster credentials: %w", err)
	}
	if _, err := d.propose(ctx, &command{Op: opClusterCADrop, ClusterCA: &caChange{Gen: t.Generation}}); err != nil {
		return rep, fmt.Errorf("rotate cluster credentials: drop the old CA: %w", err)
	}
	d.log.Info("cluster credentials rotated; the old CA is no longer trusted", "generation", t.Generation, "members", members)
	return rep, nil
}

// awaitTrustAcks waits (bounded by credentialsAckWait) until every member
// of the Raft configuration has renewed its certificate in rotation gen,
// and returns them.
func (d *DB) awaitTrustAcks(ctx context.Context, gen uint64) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, credentialsAckWait)
	defer cancel()
	for {
		cf := d.node.r.GetConfiguration()
		if err := cf.Error(); err != nil {
			return nil, fmt.Errorf("read raft configuration: %w", err)
		}
		t := d.ClusterTrust()
		if t.Generation != gen || !t.Rotating() {
			return nil, fmt.Errorf("%w: credentials rotation %d finished or replaced meanwhile (now %d)", ErrConflict, gen, t.Generation)
		}
		var done, missing []string
		for _, s := range cf.Configuration().Servers {
			if t.Acks[string(s.ID)] >= CARenewed {
				done = append(done, string(s.ID))
			} else {
				missing = append(missing, string(s.ID))
			}
		}
		if len(missing) == 0 {
			return done, nil
		}
		if err := d.fsm.waitApplied(ctx, d.fsm.appliedIndex()+1); err != nil {
			return done, fmt.Errorf("%w: %v have not renewed their cluster certificate (down or cut off?); "+
				"both CAs stay trusted until they do. Start them, or remove dead ones from the cluster, "+
				"then run the rotation again to finish it", ErrConflict, missing)
		}
	}
}
