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
	if old.db.IsLeader() {
		t.Fatalf("%s still leads after the transfer", old.id)
	}
	if st := old.db.Status(); st.State == RoleLeader {
		t.Fatalf("%s state %s", old.id, st.State)
	}

	alone := startCluster(t, 1, nil).leader()
	if err := alone.db.TransferLeadership(ctx); err != nil {
		t.Errorf("single node: %v", err)
	}
	if !alone.db.IsLeader() {
		t.Error("a single node gave up leadership")
	}
}
