package db

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/raft"
)

// Role is a node's Raft role. Its values are hashicorp/raft's state names,
// so the JSON of a ClusterStatus exchanged between members is unchanged.
type Role string

// The Raft roles.
const (
	RoleLeader    Role = "Leader"
	RoleFollower  Role = "Follower"
	RoleCandidate Role = "Candidate"
	RoleShutdown  Role = "Shutdown"
)

func roleOf(s raft.RaftState) Role { return Role(s.String()) }

// TransferLeadership hands Raft leadership to the most up-to-date voter
// before this node stops, so the cluster does not wait an election timeout
// without a leader. It returns at once without error when this node is not
// the leader or has no other voter; ctx bounds the wait.
func (d *DB) TransferLeadership(ctx context.Context) error {
	if !d.node.isLeader() || !d.hasOtherVoter() {
		return nil
	}
	f := d.node.r.LeadershipTransfer()
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		if errors.Is(err, raft.ErrNotLeader) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("raft leadership transfer: %w", err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("raft leadership transfer: %w", ctx.Err())
	}
}

// hasOtherVoter reports whether the Raft configuration has a voter besides
// this node (someone to hand leadership to).
func (d *DB) hasOtherVoter() bool {
	cf := d.node.r.GetConfiguration()
	if cf.Error() != nil {
		return false
	}
	for _, s := range cf.Configuration().Servers {
		if s.Suffrage == raft.Voter && string(s.ID) != d.node.id {
			return true
		}
	}
	return false
}
