package db

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
)

// Master key rotation in the replicated state. A rotation is three kinds of
// command, each checked here like any other:
//
//  1. master_key_add carries the next master key version sealed under the
//     current one. Every node opens it with the version it holds, adds it to
//     its stash (durably) and seals new keys with it from then on. A node
//     that was away learns it the same way from the log, or from a snapshot,
//     which carries the sealed chain while the older version is active.
//  2. reseal carries a bounded batch of records whose keys the proposer
//     re-sealed with the new version; the FSM checks each key still opens to
//     the same key material, so a rotation can never change a principal's
//     keys. Each node, once it holds the new version durably, records that
//     with master_key_ack.
//  3. master_key_retire drops the old version, refused while any sealed item
//     still names it. Every node then removes it from its stash, re-seals
//     its data dir's key check, and compacts its Raft log so that no entry
//     sealed with it remains.

const (
	opMasterKeyAdd    op = "master_key_add"
	opMasterKeyAck    op = "master_key_ack"
	opReseal          op = "reseal"
	opMasterKeyRetire op = "master_key_retire"
)

// masterKeyOwner is the name a chained master key is sealed for: no realm,
// so it can never be a principal's.
const masterKeyOwner = "kdcha/master-key"

// maxResealBatch bounds the records of one reseal command, so that a
// rotation of a large realm is many small log entries, not one huge one.
const maxResealBatch = 256

// masterKeys is the replicated state of the realm master key versions.
// Values are replaced whole, never changed in place, so a snapshot can
// share them.
type masterKeys struct {
	// Current is the version new keys are sealed with: the highest active.
	Current uint32 `json:"current"`
	// Active are the versions that may still seal something, ascending.
	Active []uint32 `json:"active"`
	// Chain holds version v sealed under v-1 for every active v whose
	// predecessor is active too: what lets a node holding only the older
	// version learn the newer. Retiring v-1 deletes it.
	Chain map[uint32][]byte `json:"chain,omitempty"`
	// Acks records, during a rotation, the highest version each node said
	// its stash file holds.
	Acks map[string]uint32 `json:"acks,omitempty"`
}

// initialMasterKeys is the state of a realm that never rotated (and of
// snapshots written before rotation existed).
func initialMasterKeys() masterKeys { return masterKeys{Current: 1, Active: []uint32{1}} }

func (k masterKeys) rotating() bool { return len(k.Active) > 1 }

func (k masterKeys) clone() masterKeys {
	return masterKeys{Current: k.Current, Active: slices.Clone(k.Active), Chain: maps.Clone(k.Chain), Acks: maps.Clone(k.Acks)}
}

// validate checks a master key state read from a snapshot.
func (k masterKeys) validate() error {
	if len(k.Active) == 0 || k.Active[len(k.Active)-1] != k.Current || !slices.IsSorted(k.Active) || k.Active[0] == 0 {
		return fmt.Errorf("%w: master key state: current %d, active %v", ErrInvalid, k.Current, k.Active)
	}
	for v := range k.Chain {
		if !slices.Contains(k.Active, v) || !slices.Contains(k.Active, v-1) {
			return fmt.Errorf("%w: master key state: chain entry for version %d without it and its predecessor active", ErrInvalid, v)
		}
	}
	return nil
}

// masterKeyChange is the payload of the master key commands.
type masterKeyChange struct {
	// MKVNO is the version added (add), held (ack), sealing Records
	// (reseal), or retired (retire).
	MKVNO uint32 `json:"mkvno"`
	// Sealed is the new version's key material sealed under the current
	// version (add).
	Sealed []byte `json:"sealed,omitempty"`
	// Node is the node acknowledging (ack).
	Node string `json:"node,omitempty"`
	// Records are the re-sealed keys (reseal).
	Records []resealed `json:"records,omitempty"`
}

// resealed is one record's keys re-sealed with a new master key version.
// Revision is the record's revision when it was read: a record changed
// since is skipped (its keys were sealed anew by that change, or will be
// picked up by the next batch).
type resealed struct {
	Name     string      `json:"name"`
	Revision uint64      `json:"revision"`
	Keys     []sealedKey `json:"keys"`
	PrevKeys []sealedKey `json:"prev_keys,omitempty"`
}

// applyMasterKey applies one of the master key commands; f.mu is held.
func (f *fsm) applyMasterKey(c *command) error {
	mc := c.MasterKey
	if mc == nil {
		return fmt.Errorf("%w: %s without a master key change", ErrInvalid, c.Op)
	}
	switch c.Op {
	case opMasterKeyAdd:
		return f.addMasterKey(mc)
	case opMasterKeyAck:
		return f.ackMasterKey(mc)
	case opReseal:
		return f.reseal(mc)
	case opMasterKeyRetire:
		return f.retireMasterKey(mc)
	}
	return fmt.Errorf("%w: unknown master key command %q", ErrInvalid, c.Op)
}

func (f *fsm) addMasterKey(mc *masterKeyChange) error {
	k := f.st.mk
	if k.rotating() {
		return fmt.Errorf("%w: a rotation to master key version %d is in progress; finish it first", ErrConflict, k.Current)
	}
	if want := k.Current + 1; mc.MKVNO != want {
		return fmt.Errorf("%w: master key version %d proposed, the next is %d", ErrConflict, mc.MKVNO, want)
	}
	if v, _ := sealedVersion(mc.Sealed); v != k.Current {
		return fmt.Errorf("%w: new master key sealed with version %d, not the current %d", ErrInvalid, v, k.Current)
	}
	key, err := f.mk.open(masterKeyOwner, 0, mc.MKVNO, mc.Sealed)
	if err != nil {
		return err
	}
	if len(key) != masterKeyBytes {
		return fmt.Errorf("%w: new master key is %d bytes, want %d", ErrInvalid, len(key), masterKeyBytes)
	}
	replaced, err := f.mk.learn(mc.MKVNO, key)
	if err != nil {
		return err
	}
	if replaced {
		f.log.Warn("the stash held another key under the new master key version; replaced it with the realm's", "mkvno", mc.MKVNO)
	}
	if err := f.mk.setCurrent(mc.MKVNO); err != nil {
		return err
	}
	next := k.clone()
	next.Current = mc.MKVNO
	next.Active = append(next.Active, mc.MKVNO)
	if next.Chain == nil {
		next.Chain = map[uint32][]byte{}
	}
	next.Chain[mc.MKVNO] = mc.Sealed
	next.Acks = nil
	f.st.mk = next
	// The state moves on whatever the disk says, so every node stays in
	// step; a node that cannot write its stash does not acknowledge the
	// version (its worker retries), which keeps the old one from being
	// retired.
	if err := f.mk.persist(); err != nil {
		f.log.Error("cannot write the new master key version to the stash; retrying before acknowledging it", "mkvno", mc.MKVNO, "err", err)
	}
	f.log.Info("new realm master key version", "mkvno", mc.MKVNO)
	f.keyWork.wake()
	return nil
}

func (f *fsm) ackMasterKey(mc *masterKeyChange) error {
	k := f.st.mk
	if mc.Node == "" || !k.rotating() || mc.MKVNO != k.Current {
		return fmt.Errorf("%w: acknowledgement of master key version %d by %q (current %d, active %v)", ErrConflict, mc.MKVNO, mc.Node, k.Current, k.Active)
	}
	next := k.clone()
	if next.Acks == nil {
		next.Acks = map[string]uint32{}
	}
	next.Acks[mc.Node] = mc.MKVNO
	f.st.mk = next
	return nil
}

// reseal replaces the sealed form of the listed records' keys after
// checking every key opens to the same material; it changes nothing if one
// does not. It does not move revisions: the principals do not change.
func (f *fsm) reseal(mc *masterKeyChange) error {
	k := f.st.mk
	if mc.MKVNO != k.Current {
		return fmt.Errorf("%w: keys re-sealed with master key version %d, current is %d", ErrConflict, mc.MKVNO, k.Current)
	}
	if len(mc.Records) == 0 || len(mc.Records) > maxResealBatch {
		return fmt.Errorf("%w: reseal of %d records (1 to %d per command)", ErrInvalid, len(mc.Records), maxResealBatch)
	}
	updated := make([]*record, 0, len(mc.Records))
	for _, r := range mc.Records {
		old, ok := f.st.records[r.Name]
		if !ok || old.Revision != r.Revision {
			continue
		}
		if err := f.sameKeys(old.Name, old.KVNO, old.Keys, r.Keys, k.Current); err != nil {
			return err
		}
		if err := f.sameKeys(old.Name, old.PrevKVNO, old.PrevKeys, r.PrevKeys, k.Current); err != nil {
			return err
		}
		rec := *old
		rec.Keys, rec.PrevKeys = r.Keys, r.PrevKeys
		updated = append(updated, &rec)
	}
	for _, rec := range updated {
		f.st.records[rec.Name] = rec
	}
	return nil
}

// sameKeys checks that resealed holds the keys of old, in the same order,
// sealed with master key version v.
func (f *fsm) sameKeys(name string, kvno uint32, old, resealed []sealedKey, v uint32) error {
	if len(old) != len(resealed) {
		return fmt.Errorf("%w: reseal of %s: %d keys for %d", ErrInvalid, name, len(resealed), len(old))
	}
	for i, o := range old {
		n := resealed[i]
		if got, _ := sealedVersion(n.Sealed); n.EType != o.EType || n.Salt != o.Salt || got != v {
			return fmt.Errorf("%w: reseal of %s: key %d is not enctype %d sealed with master key version %d", ErrInvalid, name, i, o.EType, v)
		}
		a, err := f.mk.open(name, o.EType, kvno, o.Sealed)
		if err != nil {
			return err
		}
		b, err := f.mk.open(name, n.EType, kvno, n.Sealed)
		if err != nil {
			return err
		}
		if !bytes.Equal(a, b) {
			return fmt.Errorf("%w: reseal of %s would change its enctype %d key", ErrInvalid, name, o.EType)
		}
	}
	return nil
}

func (f *fsm) retireMasterKey(mc *masterKeyChange) error {
	k := f.st.mk
	v := mc.MKVNO
	if !slices.Contains(k.Active, v) {
		if v < k.Current {
			return nil // retired already: retiring again changes nothing
		}
		return fmt.Errorf("%w: master key version %d is not active (%v)", ErrInvalid, v, k.Active)
	}
	if v == k.Current {
		return fmt.Errorf("%w: master key version %d is the current one", ErrInvalid, v)
	}
	if what, used := f.sealedWith(v); used {
		return fmt.Errorf("%w: master key version %d still seals %s; re-seal it first", ErrConflict, v, what)
	}
	next := k.clone()
	next.Active = slices.DeleteFunc(next.Active, func(a uint32) bool { return a == v })
	delete(next.Chain, v+1)
	if !next.rotating() {
		next.Chain, next.Acks = nil, nil
	}
	f.st.mk = next
	// Snapshots seal their key check anew with the current version.
	f.st.keyCheck = nil
	f.keyWork.retired()
	f.log.Info("realm master key version retired", "mkvno", v, "current", next.Current)
	return nil
}

// sealedWith reports the first item of the replicated state still sealed
// with master key version v. Every kind of sealed item the state holds must
// be listed here, or a retirement would make it unreadable.
func (f *fsm) sealedWith(v uint32) (string, bool) {
	if f.st.caKey != nil {
		if got, _ := sealedVersion(f.st.caKey); got == v {
			return "the cluster CA key", true
		}
	}
	for _, name := range slices.Sorted(maps.Keys(f.st.records)) {
		rec := f.st.records[name]
		for _, k := range slices.Concat(rec.Keys, rec.PrevKeys) {
			if got, _ := sealedVersion(k.Sealed); got == v {
				return "keys of " + name, true
			}
		}
	}
	return "", false
}

// dropMasterKeys removes from this node's stash every version the state no
// longer has active, after re-sealing the data dir's key check with the
// current one (in that order, so a crash between leaves a stash that still
// opens the check). The key worker calls it once a snapshot of the state
// after the retirement is on disk and the log before it is gone: until
// then a restart would need the old version to load the older snapshot or
// replay the log. Failures are logged; a restart retries.
func (f *fsm) dropMasterKeys() {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := f.st.mk
	var drop []uint32
	for _, v := range f.mk.versions() {
		if v < k.Active[0] {
			drop = append(drop, v)
		}
	}
	if len(drop) == 0 {
		return
	}
	if err := f.mk.setCurrent(k.Current); err != nil {
		f.log.Error("cannot retire master key versions", "versions", drop, "err", err)
		return
	}
	if f.keyWork.dataDir != "" {
		if err := resealMetaCheck(f.keyWork.dataDir, f.mk); err != nil {
			f.log.Error("cannot re-seal the data dir's key check; keeping the old master key in the stash", "err", err)
			return
		}
	}
	for _, v := range drop {
		f.mk.forget(v)
	}
	if err := f.mk.persist(); err != nil {
		f.log.Error("cannot remove retired master key versions from the stash", "versions", drop, "err", err)
		return
	}
	f.log.Info("retired master key versions removed from the stash", "versions", drop)
}

// masterKeyState returns the replicated master key state.
func (f *fsm) masterKeyState() masterKeys {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st.mk.clone()
}

// staleRecords returns up to n records with a key sealed with a version
// other than v, in name order.
func (f *fsm) staleRecords(v uint32, n int) []*record {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*record
	for _, name := range slices.Sorted(maps.Keys(f.st.records)) {
		rec := f.st.records[name]
		if slices.ContainsFunc(slices.Concat(rec.Keys, rec.PrevKeys), func(k sealedKey) bool {
			got, _ := sealedVersion(k.Sealed)
			return got != v
		}) {
			out = append(out, rec)
			if len(out) == n {
				break
			}
		}
	}
	return out
}

// checkSealedVersions refuses keys sealed with a master key version that is
// not active: a proposer that had not yet seen a retirement. ErrConflict
// makes it catch up and seal again.
func (f *fsm) checkSealedVersions(keys []sealedKey) error {
	for _, k := range keys {
		if v, _ := sealedVersion(k.Sealed); !slices.Contains(f.st.mk.Active, v) {
			return fmt.Errorf("%w: key sealed with master key version %d, active are %v", ErrConflict, v, f.st.mk.Active)
		}
	}
	return nil
}

// learnMasterKeys makes the keyring hold every version active in k,
// opening chained versions with their predecessors. A version it cannot
// obtain is reported with what to do: it was retired while this node was
// away, or the stash is from elsewhere.
func (f *fsm) learnMasterKeys(k masterKeys) error {
	for _, v := range k.Active {
		if f.mk.has(v) {
			continue
		}
		sealed, ok := k.Chain[v]
		if ok {
			key, err := f.mk.open(masterKeyOwner, 0, v, sealed)
			if err == nil && len(key) == masterKeyBytes {
				if _, err := f.mk.learn(v, key); err != nil {
					return err
				}
				continue
			}
		}
		return fmt.Errorf("%w: the database is sealed with master key version %d, which the stash %s does not hold "+
			"(it holds %v: older versions were retired after this node's data or this stash was written). "+
			"On a cluster node, copy the stash file from a current member to %[3]s and restart, "+
			"or remove the node from the cluster, wipe its data dir and join it again; "+
			"a backup from before a rotation needs the stash of its time",
			ErrWrongMasterKey, v, f.mk.path, f.mk.versions())
	}
	return nil
}

// adoptMasterKeys brings the keyring in line with a restored state: seal
// with its current version, durably hold the versions it learned, and have
// the ones retired meanwhile dropped. f.mu is held.
func (f *fsm) adoptMasterKeys() {
	if err := f.mk.setCurrent(f.st.mk.Current); err != nil {
		f.log.Error("restored state names a master key version the stash does not hold", "err", err)
		return
	}
	if err := f.mk.persist(); err != nil {
		f.log.Error("cannot write learned master key versions to the stash", "err", err)
	}
	if slices.ContainsFunc(f.mk.versions(), func(v uint32) bool { return v < f.st.mk.Active[0] }) {
		f.keyWork.retired()
	}
	f.keyWork.wake()
}

// resealMetaCheck re-seals the data dir metadata's master key check with
// the keyring's current version, replacing the file atomically.
func resealMetaCheck(dir string, mk *MasterKey) error {
	path := filepath.Join(dir, metaFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	var m meta
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("%s is corrupt: %w", path, err)
	}
	if m.KeyCheck, err = mk.seal(checkOwner, 0, 0, []byte(checkValue)); err != nil {
		return err
	}
	if b, err = json.MarshalIndent(m, "", "  "); err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return ReplaceSecretFile(path, append(b, '\n'))
}

// keyWork is what the FSM needs, beyond its state, to apply master key
// changes on this node: where the data dir's metadata lives, and a way to
// wake the DB's key worker (which acknowledges new versions, and after a
// retirement compacts the log and drops the old version from the stash).
// The zero value does neither (FSM tests).
type keyWork struct {
	dataDir string
	// changed is signalled (never blocking) when the worker may have
	// something to do; compact is set when a version was retired here.
	changed chan struct{}
	compact atomic.Bool
}

func (w *keyWork) wake() {
	if w.changed != nil {
		select {
		case w.changed <- struct{}{}:
		default:
		}
	}
}

// retired asks the worker to compact the log and drop retired versions.
func (w *keyWork) retired() {
	w.compact.Store(true)
	w.wake()
}
