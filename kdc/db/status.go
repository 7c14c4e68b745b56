package db

import (
	"fmt"
	"time"

	"github.com/hashicorp/raft"
)

// Member is one server of the Raft configuration.
type Member struct {
	// ID is the node's Raft ID, Address where peers dial it.
	ID, Address string
	// Voter is false for a non-voting member (raft staging or nonvoter).
	Voter bool
}

// ClusterStatus is this node's view of the cluster, for `kdcha cluster
// status`. Comparing AppliedIndex across members (each asked for its own
// status) shows how far each lags.
type ClusterStatus struct {
	// NodeID is this node's Raft ID.
	NodeID string
	// State is the Raft role.
	State Role
	// LeaderID and LeaderAddress name the leader this node knows ("" if
	// none).
	LeaderID, LeaderAddress string
	// Term is the current Raft term.
	Term uint64
	// LastIndex is the last entry in this node's log, CommitIndex the
	// highest it knows committed, AppliedIndex the highest applied to its
	// replica (including entries replayed at start before leader contact).
	LastIndex, CommitIndex, AppliedIndex uint64
	// LastContact is when a follower last heard from the leader (zero on
	// the leader, or never).
	LastContact time.Time
	// Members is the latest Raft configuration this node knows.
	Members []Member
	// Principals is the number of principals in this replica.
	Principals int
}

// ClusterStatus reports this node's Raft view. It works without quorum.
func (d *DB) ClusterStatus() (ClusterStatus, error) {
	r := d.node.r
	cf := r.GetConfiguration()
	if err := cf.Error(); err != nil {
		return ClusterStatus{}, fmt.Errorf("cluster status: read raft configuration: %w", err)
	}
	addr, id := r.LeaderWithID()
	st := ClusterStatus{
		NodeID:        d.node.id,
		State:         roleOf(r.State()),
		LeaderID:      string(id),
		LeaderAddress: string(addr),
		Term:          r.CurrentTerm(),
		LastIndex:     r.LastIndex(),
		CommitIndex:   r.CommitIndex(),
		AppliedIndex:  max(r.AppliedIndex(), d.fsm.appliedIndex()),
		Principals:    d.fsm.count(),
	}
	if st.State != RoleLeader {
		st.LastContact = r.LastContact()
	}
	for _, s := range cf.Configuration().Servers {
		st.Members = append(st.Members, Member{ID: string(s.ID), Address: string(s.Address), Voter: s.Suffrage == raft.Voter})
	}
	return st, nil
}
