package db

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/hashicorp/raft"
)

// RotationReport says what RotateMasterKey did.
type RotationReport struct {
	// From is the oldest master key version active when the call started,
	// To the version every key is sealed with at the end.
	From, To uint32
	// Started is true when this call added the new version, false when it
	// resumed a rotation started earlier.
	Started bool
	// Resealed is how many principals this call re-sealed.
	Resealed int
	// Retired are the versions this call retired.
	Retired []uint32
}

// ackWait bounds how long RotateMasterKey waits for every member to
// confirm it holds the new version before it gives up for now.
const ackWait = 10 * time.Second

// RotateMasterKey replaces the realm master key on a live cluster: it adds
// a new version (every node stores it in its stash), re-seals every key
// with it in bounded batches, and, once every member of the Raft
// configuration has confirmed it holds the new version, retires the old
// one (every node then compacts its log and removes it from its stash, in
// the background). Principals' keys do not
// change. It resumes a rotation that an earlier call (here or on another
// node) left unfinished, so after any failure the remedy is to call it
// again. A member that does not confirm (down, or cut off) keeps the old
// version from being retired: the error names it.
func (d *DB) RotateMasterKey(ctx context.Context) (RotationReport, error) {
	d.rotateMu.Lock()
	defer d.rotateMu.Unlock()
	if err := d.Sync(ctx); err != nil {
		return RotationReport{}, fmt.Errorf("rotate master key: %w", err)
	}
	k := d.fsm.masterKeyState()
	rep := RotationReport{From: k.Active[0], To: k.Current}
	if !k.rotating() {
		started, err := d.addMasterKey(ctx, k.Current+1)
		if err != nil {
			return rep, fmt.Errorf("rotate master key: %w", err)
		}
		rep.Started = started
		k = d.fsm.masterKeyState()
		rep.To = k.Current
	}
	d.log.Info("rotating the realm master key", "from", rep.From, "to", rep.To, "started", rep.Started)
	for attempt := 1; ; attempt++ {
		n, err := d.resealAll(ctx, k.Current)
		rep.Resealed += n
		if err != nil {
			return rep, fmt.Errorf("rotate master key: %w", err)
		}
		if err := d.awaitAcks(ctx); err != nil {
			return rep, fmt.Errorf("rotate master key: %w", err)
		}
		k = d.fsm.masterKeyState()
		err = nil
		for _, v := range k.Active[:len(k.Active)-1] {
			if err = d.proposeKeyChange(ctx, opMasterKeyRetire, &masterKeyChange{MKVNO: v}); err != nil {
				break
			}
			rep.Retired = append(rep.Retired, v)
		}
		// A write sealed with the old version by a node that had not yet
		// seen the new one can land between the last batch and the
		// retirement, which then refuses: re-seal it and retry.
		if err == nil || !errors.Is(err, ErrConflict) || attempt == sealRetries {
			if err != nil {
				return rep, fmt.Errorf("rotate master key: %w", err)
			}
			break
		}
		if err := d.Sync(ctx); err != nil {
			return rep, fmt.Errorf("rotate master key: %w", err)
		}
	}
	d.log.Info("realm master key rotated", "from", rep.From, "to", rep.To, "resealed", rep.Resealed, "retired", rep.Retired)
	return rep, nil
}

// addMasterKey proposes version v, a new random key sealed under the
// current version. started is false if another rotation won the race (the
// caller then resumes that one).
func (d *DB) addMasterKey(ctx context.Context, v uint32) (started bool, err error) {
	key := make([]byte, masterKeyBytes)
	if _, err := rand.Read(key); err != nil {
		return false, fmt.Errorf("generate master key: %w", err)
	}
	sealed, err := d.mk.seal(masterKeyOwner, 0, v, key)
	if err != nil {
		return false, err
	}
	err = d.proposeKeyChange(ctx, opMasterKeyAdd, &masterKeyChange{MKVNO: v, Sealed: sealed})
	if errors.Is(err, ErrConflict) {
		return false, d.Sync(ctx)
	}
	return err == nil, err
}

// resealAll re-seals, batch by batch, every record with a key not sealed
// with version v, and returns how many records it re-sealed.
func (d *DB) resealAll(ctx context.Context, v uint32) (int, error) {
	done := map[string]bool{}
	var last []resealed
	for {
		if err := d.Sync(ctx); err != nil {
			return len(done), err
		}
		recs := d.fsm.staleRecords(v, maxResealBatch)
		if len(recs) == 0 {
			return len(done), d.resealCAKey(ctx, v)
		}
		batch := make([]resealed, 0, len(recs))
		for _, rec := range recs {
			r, err := d.resealRecord(rec)
			if err != nil {
				return len(done), err
			}
			batch = append(batch, r)
		}
		if slices.EqualFunc(batch, last, func(a, b resealed) bool { return a.Name == b.Name && a.Revision == b.Revision }) {
			return len(done), fmt.Errorf("re-sealing made no progress at %s", batch[0].Name)
		}
		if err := d.proposeKeyChange(ctx, opReseal, &masterKeyChange{MKVNO: v, Records: batch}); err != nil {
			return len(done), err
		}
		for _, r := range batch {
			done[r.Name] = true
		}
		last = batch
	}
}

// resealCAKey seals the cluster CA key (if the realm has one) with version
// v, through the same replicated write that stores it.
func (d *DB) resealCAKey(ctx context.Context, v uint32) error {
	d.fsm.mu.Lock()
	sealed := d.fsm.st.caKey
	d.fsm.mu.Unlock()
	if sealed == nil {
		return nil
	}
	if got, _ := sealedVersion(sealed); got == v {
		return nil
	}
	der, err := d.ClusterCAKey()
	if err != nil {
		return fmt.Errorf("re-seal the cluster CA key: %w", err)
	}
	defer clear(der)
	if err := d.SetClusterCAKey(ctx, der); err != nil {
		return fmt.Errorf("re-seal the cluster CA key: %w", err)
	}
	return nil
}

// resealRecord opens a record's keys and seals them again with the
// keyring's current version.
func (d *DB) resealRecord(rec *record) (resealed, error) {
	r := resealed{Name: rec.Name, Revision: rec.Revision}
	var err error
	if r.Keys, err = d.resealKeys(rec.Name, rec.KVNO, rec.Keys); err != nil {
		return r, err
	}
	r.PrevKeys, err = d.resealKeys(rec.Name, rec.PrevKVNO, rec.PrevKeys)
	return r, err
}

func (d *DB) resealKeys(name string, kvno uint32, keys []sealedKey) ([]sealedKey, error) {
	var out []sealedKey
	for _, k := range keys {
		pt, err := d.mk.open(name, k.EType, kvno, k.Sealed)
		if err != nil {
			return nil, err
		}
		s, err := d.mk.seal(name, k.EType, kvno, pt)
		clear(pt)
		if err != nil {
			return nil, err
		}
		out = append(out, sealedKey{EType: k.EType, Salt: k.Salt, Sealed: s})
	}
	return out, nil
}

// awaitAcks waits (bounded by ackWait) until every member of the Raft
// configuration has confirmed it holds the current version durably.
func (d *DB) awaitAcks(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, ackWait)
	defer cancel()
	for {
		cf := d.node.r.GetConfiguration()
		if err := cf.Error(); err != nil {
			return fmt.Errorf("read raft configuration: %w", err)
		}
		k := d.fsm.masterKeyState()
		var missing []string
		for _, s := range cf.Configuration().Servers {
			if k.Acks[string(s.ID)] < k.Current {
				missing = append(missing, string(s.ID))
			}
		}
		if len(missing) == 0 {
			return nil
		}
		if err := d.fsm.waitApplied(ctx, d.fsm.appliedIndex()+1); err != nil {
			return fmt.Errorf("%w: %v have not confirmed they hold master key version %d (down or cut off?); "+
				"new keys are sealed with it already. Start them, or remove dead ones from the cluster, "+
				"then run the rotation again to retire the old version", ErrConflict, missing, k.Current)
		}
	}
}

// proposeKeyChange proposes one of the master key commands.
func (d *DB) proposeKeyChange(ctx context.Context, o op, mc *masterKeyChange) error {
	_, err := d.propose(ctx, &command{Op: o, MasterKey: mc})
	return err
}

// keyWorker runs on every node while it is open: it acknowledges a new
// master key version once the stash holds it durably, and after a version
// was retired it compacts the Raft log and snapshots, so that no entry
// sealed with it stays on disk, and only then removes it from the stash.
// Both retry until they succeed.
func (d *DB) keyWorker(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	var retry <-chan time.Time
	for {
		select {
		case <-stop:
			return
		case <-d.fsm.keyWork.changed:
		case <-retry:
		}
		retry = nil
		if err := d.keyWorkOnce(stop); err != nil {
			d.log.Warn("master key housekeeping failed; retrying", "err", err)
			retry = time.After(time.Second)
		}
	}
}

func (d *DB) keyWorkOnce(stop <-chan struct{}) error {
	if d.fsm.keyWork.compact.Swap(false) {
		if err := d.node.compactLog(); err != nil {
			d.fsm.keyWork.compact.Store(true) // retried on the timer
			return err
		}
		d.fsm.dropMasterKeys()
	}
	k := d.fsm.masterKeyState()
	if !k.rotating() || k.Acks[d.node.id] >= k.Current || !d.mk.has(k.Current) {
		return nil
	}
	if err := d.mk.persist(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	return d.proposeKeyChange(ctx, opMasterKeyAck, &masterKeyChange{MKVNO: k.Current, Node: d.node.id})
}

// compactLog takes a snapshot and drops every log entry it covers, and
// removes older snapshots, so that nothing sealed with a retired master key
// version is left in raft.db or the snapshot directory.
func (n *raftNode) compactLog() error {
	rc := n.r.ReloadableConfig()
	keep := rc.TrailingLogs
	rc.TrailingLogs = 0
	if err := n.r.ReloadConfig(rc); err != nil {
		return fmt.Errorf("compact raft log: %w", err)
	}
	err := n.r.Snapshot().Error()
	rc.TrailingLogs = keep
	if rerr := n.r.ReloadConfig(rc); rerr != nil {
		n.log.Error("cannot restore raft's trailing log setting", "err", rerr)
	}
	if err != nil && !errors.Is(err, raft.ErrNothingNewToSnapshot) {
		return fmt.Errorf("compact raft log: snapshot: %w", err)
	}
	metas, err := n.snaps.List()
	if err != nil {
		return fmt.Errorf("compact raft log: list snapshots: %w", err)
	}
	for _, m := range metas[min(1, len(metas)):] {
		if err := os.RemoveAll(filepath.Join(n.dataDir, snapshotDir, m.ID)); err != nil {
			return fmt.Errorf("compact raft log: remove snapshot %s: %w", m.ID, err)
		}
	}
	return nil
}
