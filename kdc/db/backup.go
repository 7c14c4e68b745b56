package db

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/hashicorp/raft"
)

// A backup is a snapshot in the Raft snapshot format: the sealed records,
// tombstones, revision counter and a master key check, never the master
// key itself. Keeping one format means a backup is restored by the code
// path every follower already uses to install a snapshot.

// Backup writes a consistent copy of this node's replica to w. Call Sync
// first on a follower if the backup must include the latest writes. The
// output holds only ciphertext, but it is useless without the stash and
// valuable with it: store it apart from the stash.
func (d *DB) Backup(w io.Writer) error {
	s, err := d.fsm.Snapshot()
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := s.(*fsmSnapshot).writeTo(w); err != nil {
		return fmt.Errorf("backup: write: %w", err)
	}
	return nil
}

// backupImage is a backup that was decoded and checked against this realm
// and master key, ready to install.
type backupImage struct {
	raw          []byte
	appliedIndex uint64
	principals   int
}

// readBackup reads and checks a whole backup: format, realm, master key and
// every sealed key, so that Open refuses a bad one before creating anything.
func readBackup(r io.Reader, f *fsm) (*backupImage, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read backup: %w", err)
	}
	var data snapshotData
	if err := json.Unmarshal(raw, &data); err != nil {
		return nil, fmt.Errorf("%w: backup is not a kdcha backup: %w", ErrInvalid, err)
	}
	if data.KeyCheck == nil {
		return nil, fmt.Errorf("%w: backup has no master key check (not written by Backup?)", ErrInvalid)
	}
	st, ps, err := f.load(&data)
	if err != nil {
		return nil, fmt.Errorf("backup refused: %w", err)
	}
	if _, ok := st.records[RealmTGS(f.realm)]; !ok {
		return nil, fmt.Errorf("%w: backup refused: it has no %s", ErrInvalid, RealmTGS(f.realm))
	}
	return &backupImage{raw: raw, appliedIndex: data.AppliedIndex, principals: len(ps)}, nil
}

// restore installs a checked backup as the state of this node's cluster
// through Raft's user restore, which also makes it a snapshot that any
// node added later receives.
func (n *raftNode) restore(b *backupImage, timeout time.Duration) error {
	// Raft moves its index past meta.Index, so later entries stay above
	// the restored FSM's applied index.
	meta := &raft.SnapshotMeta{Version: raft.SnapshotVersionMax, Index: b.appliedIndex, Size: int64(len(b.raw))}
	if err := n.r.Restore(meta, bytes.NewReader(b.raw), timeout); err != nil {
		return fmt.Errorf("restore backup: %w", err)
	}
	n.log.Info("principal database restored from backup", "principals", b.principals)
	return nil
}
