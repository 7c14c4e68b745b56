package db

import (
	"context"
	"fmt"
	"slices"

	"github.com/hashicorp/raft"
)

// AddVoter adds node id, reachable for Raft at addr, to the cluster as a
// voter (or promotes it if it is a non-voter); on a follower the request
// goes to the leader through Options.Forward. The new node (opened with
// Options.Join) then receives a snapshot and the log from the leader.
// Adding a node that is already a member with the same address does
// nothing; one that is a member at another address is refused with
// ErrInvalid (see checkNewMember).
func (d *DB) AddVoter(ctx context.Context, id, addr string) error {
	if id == "" || addr == "" {
		return fmt.Errorf("%w: add voter: empty node ID or address", ErrInvalid)
	}
	return d.membership(ctx, forwardRequest{Kind: fwdAddVoter, ID: id, Addr: addr})
}

// AddNonvoter adds node id, reachable at addr, as a non-voting member: it
// receives the log and may use the cluster listener, but does not count
// towards quorum until AddVoter promotes it. A join admits a node this
// way before it has even started. The same ID at another address is
// refused like in AddVoter.
func (d *DB) AddNonvoter(ctx context.Context, id, addr string) error {
	if id == "" || addr == "" {
		return fmt.Errorf("%w: add non-voter: empty node ID or address", ErrInvalid)
	}
	return d.membership(ctx, forwardRequest{Kind: fwdAddNonvoter, ID: id, Addr: addr})
}

// IsMember reports whether node id is in this node's latest Raft
// configuration (voter or not; the latest one includes a change as soon as
// it reaches this node's log, so a removal counts here within one commit).
// A node with no configuration yet (joining, before the leader reached
// it) has nothing to check against and reports true.
func (d *DB) IsMember(id string) bool {
	servers := d.node.r.GetConfiguration().Configuration().Servers
	return len(servers) == 0 || slices.ContainsFunc(servers, func(s raft.Server) bool { return string(s.ID) == id })
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

// addServer runs AddVoter (or AddNonvoter) on the leader and returns the
// change's index. The check and the change are atomic (confMu): every
// configuration change goes through this leader's addServer or
// removeServer.
func (n *raftNode) addServer(ctx context.Context, id, addr string, voter bool) (uint64, error) {
	n.confMu.Lock()
	defer n.confMu.Unlock()
	cf := n.r.GetConfiguration()
	if err := cf.Error(); err != nil {
		return 0, fmt.Errorf("read raft configuration: %w", err)
	}
	if err := checkNewMember(cf.Configuration(), id, addr); err != nil {
		return 0, err
	}
	add := n.r.AddNonvoter
	if voter {
		add = n.r.AddVoter
	}
	f := add(raft.ServerID(id), raft.ServerAddress(addr), 0, waitFor(ctx))
	if err := wait(ctx, f); err != nil {
		return 0, err
	}
	return f.Index(), nil
}

// CheckNewMember is checkNewMember against this node's latest
// configuration: a join is refused early, before anything is used up; the
// leader checks again when it adds the node.
func (d *DB) CheckNewMember(id, addr string) error {
	return checkNewMember(d.node.r.GetConfiguration().Configuration(), id, addr)
}

// checkNewMember refuses to give a node ID that is already a member a new
// address: raft would move the member there, so whoever joined under an
// existing name would evict the real node.
func checkNewMember(cfg raft.Configuration, id, addr string) error {
	for _, s := range cfg.Servers {
		if string(s.ID) == id && string(s.Address) != addr {
			return fmt.Errorf("%w: node ID %q is already a member at %s (a node joining under another's name would evict it); remove that member first or give this node another name", ErrInvalid, id, s.Address)
		}
	}
	return nil
}

// removeServer runs RemoveServer on the leader and returns the change's
// index.
func (n *raftNode) removeServer(ctx context.Context, id string) (uint64, error) {
	n.confMu.Lock()
	defer n.confMu.Unlock()
	f := n.r.RemoveServer(raft.ServerID(id), 0, waitFor(ctx))
	if err := wait(ctx, f); err != nil {
		return 0, err
	}
	return f.Index(), nil
}
