package db

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/raft"
)

// snapshotFormat is the version of the snapshot encoding. Restore refuses
// other versions rather than loading a half-understood state.
const snapshotFormat = 1

// snapshotData is the whole replicated state as written to a snapshot.
// Keys stay sealed: snapshots on disk and on the wire hold only ciphertext.
type snapshotData struct {
	Format       int                  `json:"format"`
	Realm        string               `json:"realm"`
	AppliedIndex uint64               `json:"applied_index"`
	Revision     uint64               `json:"revision"`
	Principals   []*record            `json:"principals"`
	Tombstones   map[string]tombstone `json:"tombstones"`
	// KeyCheck is sealed with the master key like meta's, so that a backup
	// sealed with another key is refused even when it holds no principals.
	KeyCheck []byte `json:"key_check,omitempty"`
	// MasterKeys are the master key versions and their sealed chain; absent
	// for a realm that never rotated (version 1 alone).
	MasterKeys *masterKeys `json:"master_keys,omitempty"`
	// JoinTokens and CAKey (sealed) are cluster state (tokens.go, cakey.go).
	JoinTokens []joinToken `json:"join_tokens,omitempty"`
	CAKey      []byte      `json:"ca_key,omitempty"`
	// ClusterTrust is the credentials rotation state (catrust.go); absent
	// for a cluster that never rotated.
	ClusterTrust *clusterTrust `json:"cluster_trust,omitempty"`
	// Policies are the password policies (absent in snapshots written
	// before they existed, which therefore still load).
	Policies []PasswordPolicy `json:"policies,omitempty"`
	// RealmSettings are absent until a node seeds them (and in snapshots
	// written before they existed, which therefore still load).
	RealmSettings *RealmSettings `json:"realm_settings,omitempty"`
}

// fsmSnapshot is a point-in-time copy of the state. The records are
// immutable, so copying the pointers is enough.
type fsmSnapshot struct {
	data      snapshotData
	persisted func(time.Duration)
}

// Snapshot implements raft.FSM.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.st.keyCheck == nil {
		// Sealed once and then kept (and taken over from a restored
		// snapshot) so that the same state always snapshots to the same
		// bytes.
		check, err := f.mk.seal(checkOwner, 0, 0, []byte(checkValue))
		if err != nil {
			return nil, err
		}
		f.st.keyCheck = check
	}
	var mks *masterKeys
	if f.st.mk.Current != 1 || f.st.mk.rotating() {
		c := f.st.mk.clone()
		mks = &c
	}
	recs := slices.SortedFunc(maps.Values(f.st.records), func(a, b *record) int {
		return strings.Compare(a.Name, b.Name)
	})
	return &fsmSnapshot{data: snapshotData{
		Format:        snapshotFormat,
		Realm:         f.realm,
		AppliedIndex:  f.st.applied,
		Revision:      f.st.revision,
		Principals:    recs,
		Tombstones:    maps.Clone(f.st.tombstones),
		KeyCheck:      f.st.keyCheck,
		MasterKeys:    mks,
		JoinTokens:    f.tokenList(),
		CAKey:         f.st.caKey,
		ClusterTrust:  f.st.trust.snapshot(),
		Policies:      sortedPolicies(f.st.policies),
		RealmSettings: f.st.settings,
	}, persisted: f.persisted}, nil
}

// Persist implements raft.FSMSnapshot.
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	start := time.Now()
	defer func() { s.persisted(time.Since(start)) }()
	if err := s.writeTo(sink); err != nil {
		sink.Cancel()
		return fmt.Errorf("persist snapshot: %w", err)
	}
	if err := sink.Close(); err != nil {
		return fmt.Errorf("persist snapshot: %w", err)
	}
	return nil
}

// writeTo encodes the snapshot (also the format of Backup).
func (s *fsmSnapshot) writeTo(w io.Writer) error {
	return json.NewEncoder(w).Encode(&s.data)
}

// Release implements raft.FSMSnapshot.
func (s *fsmSnapshot) Release() {}

// Restore implements raft.FSM. It decodes and checks the whole snapshot,
// and decrypts every key, before touching the live state; then it swaps the
// state and the index in one step, so readers see either the old database
// or the new one, never a mix, and a bad snapshot changes nothing.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	var data snapshotData
	if err := json.NewDecoder(rc).Decode(&data); err != nil {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.restoreErr = fmt.Errorf("restore snapshot: decode: %w", err)
		return f.restoreErr
	}
	st, principals, err := f.load(&data)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		// hashicorp/raft reports only "failed to load any existing
		// snapshots" from NewRaft; Open adds this reason to it.
		f.restoreErr = fmt.Errorf("restore snapshot: %w", err)
		return f.restoreErr
	}
	applied := st.applied
	f.st = st
	f.settings.Store(st.settings)
	f.setApplied(applied)
	f.index.replace(principals)
	f.adoptMasterKeys()
	f.signalTrust()
	f.log.Debug("restored principal database from snapshot", "principals", len(principals), "revision", st.revision)
	return nil
}

// load validates a decoded snapshot and builds the state and the
// decrypted principals from it.
func (f *fsm) load(data *snapshotData) (fsmState, []*Principal, error) {
	st := newFSMState()
	if data.Format != snapshotFormat {
		return st, nil, fmt.Errorf("format %d not supported (want %d)", data.Format, snapshotFormat)
	}
	if data.Realm != f.realm {
		return st, nil, fmt.Errorf("%w: snapshot is for realm %q, database is %q", ErrRealmMismatch, data.Realm, f.realm)
	}
	if data.MasterKeys != nil {
		st.mk = data.MasterKeys.clone()
	}
	if err := st.mk.validate(); err != nil {
		return st, nil, err
	}
	if err := f.learnMasterKeys(st.mk); err != nil {
		return st, nil, err
	}
	if data.KeyCheck != nil {
		if pt, err := f.mk.open(checkOwner, 0, 0, data.KeyCheck); err != nil || string(pt) != checkValue {
			return st, nil, fmt.Errorf("%w: snapshot was sealed with another master key", ErrWrongMasterKey)
		}
	}
	st.applied = data.AppliedIndex
	st.revision = data.Revision
	st.keyCheck = data.KeyCheck
	maps.Copy(st.tombstones, data.Tombstones)
	if err := loadTokens(&st, data.JoinTokens); err != nil {
		return st, nil, err
	}
	if data.CAKey != nil {
		if _, err := f.mk.open(caKeyOwner, 0, 0, data.CAKey); err != nil {
			return st, nil, fmt.Errorf("cluster CA key: %w", err)
		}
		st.caKey = data.CAKey
	}
	if data.ClusterTrust != nil {
		if err := data.ClusterTrust.validate(); err != nil {
			return st, nil, err
		}
		st.trust = *data.ClusterTrust
	}
	for _, p := range data.Policies {
		if err := p.check(); err != nil {
			return st, nil, err
		}
		st.policies[p.Name] = p
	}
	if data.RealmSettings != nil {
		if err := data.RealmSettings.Check(); err != nil {
			return st, nil, err
		}
		s := *data.RealmSettings
		st.settings = &s
	}
	principals := make([]*Principal, 0, len(data.Principals))
	for _, rec := range data.Principals {
		if rec == nil {
			return st, nil, fmt.Errorf("%w: null principal", ErrInvalid)
		}
		if rec.Revision > st.revision {
			return st, nil, fmt.Errorf("%w: %s has revision %d beyond snapshot revision %d", ErrInvalid, rec.Name, rec.Revision, st.revision)
		}
		own := map[string]bool{}
		for _, n := range append([]string{rec.Name}, rec.Aliases...) {
			_, isName := st.records[n]
			_, isAlias := st.aliases[n]
			if isName || isAlias || own[n] {
				return st, nil, fmt.Errorf("%w: name %s used twice", ErrInvalid, n)
			}
			own[n] = true
			if err := f.checkName(n); err != nil {
				return st, nil, err
			}
		}
		if err := checkSealedKeys(rec.Keys); err != nil {
			return st, nil, fmt.Errorf("%s: %w", rec.Name, err)
		}
		p, err := f.unseal(rec)
		if err != nil {
			return st, nil, err
		}
		st.records[rec.Name] = rec
		for _, a := range rec.Aliases {
			// A state no command could produce: refuse it rather than
			// serve TGTs decrypted with the alias owner's key.
			if err := checkNotProtectedAlias(a, f.realm); err != nil {
				return st, nil, fmt.Errorf("%w: %s: %w", ErrInvalid, rec.Name, err)
			}
			st.aliases[a] = rec.Name
		}
		principals = append(principals, p)
	}
	return st, principals, nil
}

// restoreError returns why the last snapshot restore failed, if it did.
func (f *fsm) restoreError() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.restoreErr
}
