package db

import (
	"errors"
	"testing"
	"time"
)

// TestSyncReadWithoutQuorum: in a two-node cluster with one node stopped,
// the other (whichever it was) still answers reads from its replica,
// marked stale with the reason, unless the caller demands a consistent
// read; a write still fails fast.
func TestSyncReadWithoutQuorum(t *testing.T) {
	t.Parallel()
	for _, stopped := range []string{"leader", "follower"} {
		t.Run("stop the "+stopped, func(t *testing.T) {
			t.Parallel()
			c := startCluster(t, 2, nil)
			ctx := testCtx(t)
			if _, err := c.leader().db.Create(ctx, CreateRequest{Name: "svc/a", RandomKey: true}); err != nil {
				t.Fatal(err)
			}
			c.waitConverged()
			for _, n := range c.all() {
				if stale, err := n.db.SyncRead(ctx, false); stale != nil || err != nil {
					t.Fatalf("%s with a quorum: stale %v, err %v", n.id, stale, err)
				}
			}
			victim, survivor := c.leader(), c.followers()[0]
			if stopped == "follower" {
				victim, survivor = survivor, victim
			}
			c.stop(victim.id)
			d := survivor.db

			stale, err := d.SyncRead(ctx, false)
			if err != nil || !errors.Is(stale, ErrNoQuorum) && !errors.Is(stale, ErrNotLeader) && !errors.Is(stale, ErrOutcomeUnknown) {
				t.Fatalf("read without quorum: stale %v, err %v; want a stale answer naming the quorum", stale, err)
			}
			if p, err := d.Get("svc/a"); err != nil || p.KVNO() != 1 {
				t.Fatalf("stale read: %v, %v", p, err)
			}
			if _, err := d.SyncRead(ctx, true); !errors.Is(err, ErrNoQuorum) && !errors.Is(err, ErrNotLeader) && !errors.Is(err, ErrOutcomeUnknown) {
				t.Fatalf("consistent read without quorum: %v, want an error", err)
			}
			// Once the survivor knows it has no leader, writes fail at once.
			c.eventually("the survivor to lose its leader", func() bool { return d.Status().State != "Leader" })
			start := time.Now()
			if _, err := d.Rekey(ctx, "svc/a"); !errors.Is(err, ErrNoQuorum) && !errors.Is(err, ErrNotLeader) {
				t.Fatalf("write without quorum: %v", err)
			}
			if took := time.Since(start); took > 500*time.Millisecond {
				t.Fatalf("write without quorum took %s to fail", took)
			}
		})
	}
}
