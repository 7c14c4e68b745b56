package db

import (
	"context"
	"fmt"

	"github.com/hashicorp/raft"
)

// AddVoter adds node id, reachable for Raft at addr, to the cluster as a
// voter; on a follower the request goes to the leader through
// Options.Forward. The new node (opened with Options.Join) then receives a
// snapshot and the log from the leader. Adding a node that is already a
// member with the same address does nothing.
func (d *DB) AddVoter(ctx context.Context, id, addr string) error {
	if id == "" || addr == "" {
		return fmt.Errorf("%w: add voter: empty node ID or address", ErrInvalid)
	}
	return d.membership(ctx, forwardRequest{Kind: fwdAddVoter, ID: id, Addr: addr})
}

// RemoveServer removes node id from the cluster (through the leader, like
// AddVoter). Removing the leader makes it step down once the change is
// committed.
func (d *DB) RemoveServer(ctx context.Context, id string) error {
	if id == "" {
		return fmt.Errorf("%w: remove server: empty node ID", ErrInvalid)
	}
	return d.membership(ctx, forwardRequest{Kind: fwdRemoveServer, ID: id})
}

func (d *DB) membership(ctx context.Context, r forwardRequest) error {
	var err error
	if d.forward == nil || d.node.isLeader() {
		_, err = d.handle(ctx, &r)
	} else {
		_, err = d.callLeader(ctx, r)
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", r.Kind, r.ID, err)
	}
	d.log.Info("raft membership changed", "change", r.Kind, "node", r.ID, "addr", r.Addr)
	return nil
}

// addVoter runs AddVoter on the leader and returns the change's index.
func (n *raftNode) addVoter(ctx context.Context, id, addr string) (uint64, error) {
	f := n.r.AddVoter(raft.ServerID(id), raft.ServerAddress(addr), 0, waitFor(ctx))
	if err := wait(ctx, f); err != nil {
		return 0, err
	}
	return f.Index(), nil
}

// removeServer runs RemoveServer on the leader and returns the change's
// index.
func (n *raftNode) removeServer(ctx context.Context, id string) (uint64, error) {
	f := n.r.RemoveServer(raft.ServerID(id), 0, waitFor(ctx))
	if err := wait(ctx, f); err != nil {
		return 0, err
	}
	return f.Index(), nil
}
