package db

import (
	"context"
	"errors"
	"fmt"
	"time"
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

// staleReadWait bounds how long SyncRead waits for the cluster before it
// answers from the local replica: long enough for a leader that lost its
// quorum to notice (raft's leader lease) or for a forward to fail.
const staleReadWait = 3 * time.Second

// SyncRead prepares an admin read (principal get and list, keytab export,
// backup). It syncs the replica like Sync; when the cluster cannot confirm
// the replica is current (no quorum, leader unreachable, no answer within
// staleReadWait) it returns the reason, and the caller serves the local
// replica marked as possibly stale, so that an operator is not blind
// during the incident that cost the quorum (as Consul's stale reads).
// With consistent the read demands the leader: the failure is err instead.
// Errors that are not about the quorum (ctx cancelled, disk full) are err.
func (d *DB) SyncRead(ctx context.Context, consistent bool) (stale, err error) {
	sctx, cancel := context.WithTimeout(ctx, staleReadWait)
	defer cancel()
	err = d.Sync(sctx)
	if err == nil {
		return nil, nil
	}
	unavailable := errors.Is(err, ErrNoQuorum) || errors.Is(err, ErrNotLeader) || errors.Is(err, ErrOutcomeUnknown) ||
		errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil
	if consistent || !unavailable {
		return nil, err
	}
	return err, nil
}
