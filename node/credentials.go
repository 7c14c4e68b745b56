package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kdcha/kdcha/cluster"
	"github.com/kdcha/kdcha/kdc/db"
)

// credentialsWorker keeps this node's cluster credentials in step with the
// replicated trust state during and after `kdcha cluster rotate-credentials`
// (see db.ClusterTrust): it runs once at start, so a node that was down
// catches up, and again whenever the state changes, retrying failures.
func (m *Member) credentialsWorker(ctx context.Context) {
	if m.creds == nil {
		return
	}
	for {
		var retry <-chan time.Time
		if err := m.syncCredentials(ctx); err != nil {
			m.log.Warn("cluster credentials rotation: cannot follow it on this node; retrying", "err", err)
			retry = time.After(time.Second)
		}
		select {
		case <-ctx.Done():
			return
		case <-m.db.ClusterTrustChanged():
		case <-retry:
		}
	}
}

// syncCredentials does this node's next step of a rotation: trust both
// CAs and say so; once every member trusts both, renew its own
// certificate from the new CA and say so; after the drop, trust the new
// CA alone.
func (m *Member) syncCredentials(ctx context.Context) error {
	t := m.db.ClusterTrust()
	if t.Generation == 0 {
		return nil
	}
	if !m.creds.Trusts(t.CAs) {
		if err := m.creds.SetTrusted(t.CAs); errors.Is(err, cluster.ErrStaleCredentials) {
			// Nothing to retry: only a new join helps.
			m.log.Error("cluster credentials out of date", "err", err)
			return nil
		} else if err != nil {
			return err
		}
		m.log.Info("cluster credentials rotation: trusted CAs updated", "generation", t.Generation, "cas", len(t.CAs))
	}
	if !t.Rotating() {
		return nil
	}
	me, newCA := m.cfg.Node.Name, t.CAs[len(t.CAs)-1]
	renewed := m.creds.IssuedBy(newCA)
	if !renewed && t.Acks[me] < db.CATrusts {
		return m.db.AckClusterTrust(ctx, t.Generation, db.CATrusts)
	}
	if !renewed {
		// Presenting a certificate of the new CA before every member
		// trusts it would break their connections to this node.
		st, err := m.db.ClusterStatus()
		if err != nil {
			return err
		}
		for _, mb := range st.Members {
			if t.Acks[mb.ID] < db.CATrusts {
				return nil // woken again by its acknowledgement
			}
		}
		key, err := m.db.ClusterCAKey()
		if err != nil {
			return err
		}
		err = m.creds.Renew(key, t.CAs)
		clear(key)
		if err != nil {
			return err
		}
		m.log.Info("cluster credentials rotation: this node's certificate renewed from the new CA", "generation", t.Generation, "ca", m.creds.Fingerprint())
	}
	if t.Acks[me] < db.CARenewed {
		return m.db.AckClusterTrust(ctx, t.Generation, db.CARenewed)
	}
	return nil
}

// RotateCredentials replaces the cluster CA and every node's certificate
// (admin.Cluster); see db.DB.RotateClusterCredentials.
func (m *Member) RotateCredentials(ctx context.Context) (db.CredentialsRotation, error) {
	if m.mux == nil {
		return db.CredentialsRotation{}, fmt.Errorf("%w: this node is not in a cluster (no cluster.listen)", db.ErrInvalid)
	}
	return m.db.RotateClusterCredentials(ctx, m.creds.CACert(), cluster.NewCA)
}
