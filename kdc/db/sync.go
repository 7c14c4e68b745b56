package db

import (
	"context"
	"fmt"
)

// Replicas serve reads from memory and may lag the leader by the entries
// in flight. Admin reads that must see every write acknowledged anywhere
// in the cluster (a read right after a write on another node) call Sync
// first; the KDC never does.

// Sync returns once this node's replica holds every write acknowledged
// anywhere before the call: the leader commits a barrier; a follower asks
// the leader (through Options.Forward) for an index covering every
// acknowledged write and waits to apply it. It needs a quorum.
func (d *DB) Sync(ctx context.Context) error {
	if d.forward == nil || d.node.isLeader() {
		if err := d.node.Barrier(ctx); err != nil {
			return fmt.Errorf("sync replica: %w", err)
		}
		return nil
	}
	index, err := d.callLeader(ctx, forwardRequest{Kind: fwdReadIndex})
	if err != nil {
		return fmt.Errorf("sync replica: %w", err)
	}
	if err := d.fsm.waitApplied(ctx, index); err != nil {
		return fmt.Errorf("sync replica: %w", err)
	}
	return nil
}

// GetFresh is Get after Sync.
func (d *DB) GetFresh(ctx context.Context, name string) (*Principal, error) {
	if err := d.Sync(ctx); err != nil {
		return nil, err
	}
	return d.Get(name)
}

// ListFresh is List after Sync.
func (d *DB) ListFresh(ctx context.Context) ([]*Principal, error) {
	if err := d.Sync(ctx); err != nil {
		return nil, err
	}
	return d.List(), nil
}
