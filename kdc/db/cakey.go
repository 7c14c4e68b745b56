package db

import (
	"context"
	"fmt"
	"slices"
)

// The cluster CA's private key is kept in the replicated state, sealed
// with the master key like principal keys, instead of on every node's
// disk: a node's cluster directory then holds no key that can mint
// certificates, and any member can still admit a node (it opens the key
// only to sign the joiner's certificate), so losing a member never
// prevents joins. The key is opaque here (PKCS#8 DER from the cluster
// package).

// caKeyOwner labels the sealed CA key like a principal name no principal
// can have (no realm), so it never opens as anyone's key.
const caKeyOwner = "kdcha/cluster-ca-key"

// SetClusterCAKey stores the cluster CA key, sealed, replacing any
// earlier one (a database restored from a backup of another cluster holds
// that cluster's key). The caller checks that der belongs to its CA.
func (d *DB) SetClusterCAKey(ctx context.Context, der []byte) error {
	if len(der) == 0 {
		return fmt.Errorf("%w: empty CA key", ErrInvalid)
	}
	sealed, err := d.mk.seal(caKeyOwner, 0, 0, der)
	if err != nil {
		return fmt.Errorf("seal cluster CA key: %w", err)
	}
	return d.proposeCluster(ctx, &command{Op: opSetCAKey, Name: caKeyOwner, CAKey: sealed})
}

// ClusterCAKey opens the cluster CA key from this replica; ErrNotFound
// when it was never stored (or this replica has not caught up yet).
func (d *DB) ClusterCAKey() ([]byte, error) {
	d.fsm.mu.Lock()
	sealed := d.fsm.st.caKey
	d.fsm.mu.Unlock()
	if sealed == nil {
		return nil, fmt.Errorf("%w: no cluster CA key in the database", ErrNotFound)
	}
	return d.mk.open(caKeyOwner, 0, 0, sealed)
}

func (f *fsm) setCAKey(c *command) error {
	// Garbage or a key sealed with another master key would only fail at
	// the next join; refuse it now.
	if _, err := f.mk.open(caKeyOwner, 0, 0, c.CAKey); err != nil {
		return fmt.Errorf("cluster CA key: %w", err)
	}
	// Sealed by a proposer that had not seen a master key retirement.
	if v, _ := sealedVersion(c.CAKey); !slices.Contains(f.st.mk.Active, v) {
		return fmt.Errorf("%w: cluster CA key sealed with master key version %d, active are %v", ErrConflict, v, f.st.mk.Active)
	}
	f.st.caKey = c.CAKey
	return nil
}
