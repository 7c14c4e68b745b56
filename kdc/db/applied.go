package db

import (
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// hashicorp/raft applies log entries after a restart only once it learns
// the commit index from a leader. A node restarting without quorum would
// then serve only its last snapshot (possibly nothing), yet losing quorum
// must stop admin writes, not logins. So the node records, in raft.db's
// stable store, the index of the last entry its FSM applied (an entry the
// FSM applied was committed, and a committed entry is in the local log for
// good) and replays up to it itself at start. The record may lag: it is a
// lower bound, so writing it once a second without waiting is safe.
var appliedKey = []byte("kdcha.AppliedIndex")

const appliedSaveInterval = time.Second

// replayCommitted applies the locally stored log entries after the FSM's
// current position up to the recorded applied index. Raft may be applying
// the same entries concurrently; the FSM applies each index once.
//
// It starts after the latest snapshot too: the FSM's position is the last
// *command* it applied, and a snapshot taken after later non-command entries
// (a membership change, a leader's no-op) or installed by a leader covers
// indexes that this node's log never held.
func replayCommitted(store *raftboltdb.BoltStore, snaps raft.SnapshotStore, f *fsm) (int, error) {
	upTo, err := store.GetUint64(appliedKey)
	if err != nil && !errors.Is(err, raftboltdb.ErrKeyNotFound) {
		return 0, fmt.Errorf("read recorded applied index: %w", err)
	}
	from := f.appliedIndex()
	metas, err := snaps.List()
	if err != nil {
		return 0, fmt.Errorf("list snapshots: %w", err)
	}
	if len(metas) > 0 {
		from = max(from, metas[0].Index)
	}
	n := 0
	for i := from + 1; i <= upTo; i++ {
		var l raft.Log
		if err := store.GetLog(i, &l); err != nil {
			return n, fmt.Errorf("replay committed raft entry %d of %d: %w", i, upTo, err)
		}
		if l.Type == raft.LogCommand {
			f.Apply(&l)
			n++
		}
	}
	return n, nil
}

// recordApplied saves the FSM's applied index every appliedSaveInterval
// until stop is closed.
func (n *raftNode) recordApplied(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(appliedSaveInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if err := n.saveApplied(); err != nil {
				n.log.Warn("cannot record applied raft index", "err", err)
			}
		}
	}
}

func (n *raftNode) saveApplied() error {
	idx := n.fsm.appliedIndex()
	if idx <= n.saved {
		return nil
	}
	if err := n.store.SetUint64(appliedKey, idx); err != nil {
		return fmt.Errorf("record applied index %d: %w", idx, err)
	}
	n.saved = idx
	return nil
}
