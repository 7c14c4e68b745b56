package db

import (
	"context"
	"testing"
	"time"
)

// TestTransferLeadership: a stopping leader hands leadership to another
// voter at once (instead of the cluster waiting an election timeout);
// a follower, and a leader alone, have nothing to hand over.
func TestTransferLeadership(t *testing.T) {
	c := startCluster(t, 3, nil)
	old := c.leader()
	// A transfer goes to a voter that has the leader's log; wait for the
	// joins to be replicated so the test does not race them.
	c.eventually("every voter caught up", func() bool {
		lead, err := old.db.ClusterStatus()
		if err != nil || len(lead.Members) != 3 {
			return false
		}
		for _, n := range c.all() {
			st, err := n.db.ClusterStatus()
			if err != nil || st.AppliedIndex < lead.CommitIndex {
				return false
			}
		}
		return true
	})
	for _, n := range c.all() {
		if n != old {
			if err := n.db.TransferLeadership(context.Background()); err != nil {
				t.Errorf("follower %s: %v", n.id, err)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := old.db.TransferLeadership(ctx); err != nil {
		t.Fatal(err)
	}
	if st := old.db.Status(); st.State == RoleLeader {
		t.Fatalf("%s still leads after the transfer", old.id)
	}

	alone := startCluster(t, 1, nil).leader()
	if err := alone.db.TransferLeadership(ctx); err != nil {
		t.Errorf("single node: %v", err)
	}
	if alone.db.Status().State != RoleLeader {
		t.Error("a single node gave up leadership")
	}
}
