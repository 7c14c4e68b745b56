package db

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// record is a principal as the FSM stores it: keys sealed. Records are
// immutable once stored; a change stores a new record.
type record struct {
	Name    string      `json:"name"`
	Aliases []string    `json:"aliases,omitempty"`
	KVNO    uint32      `json:"kvno"`
	Keys    []sealedKey `json:"keys"`
	// PrevKVNO and PrevKeys are the keys replaced by the last set_keys,
	// kept so tickets issued before a rekey stay valid until they expire.
	PrevKVNO         uint32        `json:"prev_kvno,omitempty"`
	PrevKeys         []sealedKey   `json:"prev_keys,omitempty"`
	Attributes       Attributes    `json:"attributes"`
	MaxLife          time.Duration `json:"max_life,omitempty"`
	MaxRenewableLife time.Duration `json:"max_renewable_life,omitempty"`
	Created          time.Time     `json:"created"`
	Modified         time.Time     `json:"modified"`
	Revision         uint64        `json:"revision"`
	Locked           bool          `json:"locked,omitempty"`
	LockedAt         time.Time     `json:"locked_at,omitzero"`
	Expires          time.Time     `json:"expires,omitzero"`
	PasswordExpires  time.Time     `json:"password_expires,omitzero"`
	Policy           string        `json:"policy,omitempty"`
	// PasswordChanged is when the keys were last set from a password;
	// History hashes the keys of earlier passwords (pwhistory.go).
	PasswordChanged time.Time   `json:"password_changed,omitzero"`
	History         [][]keyHash `json:"history,omitempty"`
	// EncTypes is the principal's enctype set (Principal.EncTypes).
	EncTypes []int32 `json:"enctypes,omitempty"`
}

// tombstone remembers a name that no longer exists so that re-creating it
// continues its kvno instead of restarting at 1 (old tickets and keytabs
// must never match a new key by kvno).
type tombstone struct {
	KVNO     uint32    `json:"kvno"`
	Revision uint64    `json:"revision"`
	Deleted  time.Time `json:"deleted"`
}

// fsmState is everything the FSM replicates.
type fsmState struct {
	// applied is the Raft index of the last command applied. Entries at or
	// below it are skipped, which lets a restarting node replay its own
	// committed log before Raft would (see raftNode.replayCommitted).
	applied    uint64
	revision   uint64
	records    map[string]*record // canonical name -> record
	aliases    map[string]string  // alias -> canonical name
	tombstones map[string]tombstone
	policies   map[string]PasswordPolicy
	// keyCheck is the master key check written to snapshots.
	keyCheck []byte
	// mk are the realm's master key versions (rotate.go).
	mk masterKeys
	// tokens are the join tokens by hash (tokens.go); caKey is the
	// sealed cluster CA key (cakey.go).
	tokens map[string]joinToken
	caKey  []byte
	// trust is the credentials rotation state (catrust.go).
	trust clusterTrust
}

func newFSMState() fsmState {
	return fsmState{
		records:    map[string]*record{},
		aliases:    map[string]string{},
		tombstones: map[string]tombstone{},
		mk:         initialMasterKeys(),
		tokens:     map[string]joinToken{},
		policies:   map[string]PasswordPolicy{},
	}
}

// fsm is the raft.FSM of the principal database. Apply validates each
// command against the current state and either applies it completely or
// rejects it with an error result; it never changes state partially. It
// keeps the decrypted index in step so that readers never touch the sealed
// form.
type fsm struct {
	realm string
	mk    *MasterKey
	index *index
	log   *slog.Logger

	// mu guards st: Apply runs on Raft's FSM goroutine, but proposers read
	// kvnos and Snapshot copies the maps from other goroutines.
	mu         sync.Mutex
	st         fsmState
	restoreErr error
	// advanced is closed (and replaced) whenever st.applied moves, waking
	// writers that wait for their entry to be applied here.
	advanced chan struct{}
	// persisted observes how long writing a snapshot took (metrics).
	persisted func(time.Duration)
	// keyWork links master key changes to this node (rotate.go).
	keyWork keyWork
	// trustChanged is signalled (never blocking) when the cluster trust
	// state changes (catrust.go).
	trustChanged chan struct{}
	// recent holds the results of the last entries applied, by index
	// modulo its size, so that a follower acknowledging a forwarded write
	// returns exactly the principal that write produced, not a later one.
	recent [recentResults]indexedResult
}

// recentResults is how many results recent keeps: far more than the
// entries that can be applied between a leader's reply and the
// follower's wait ending.
const recentResults = 1024

type indexedResult struct {
	index uint64
	res   *applyResult
}

var _ raft.FSM = (*fsm)(nil)

func newFSM(realm string, mk *MasterKey, idx *index, log *slog.Logger) *fsm {
	return &fsm{realm: realm, mk: mk, index: idx, log: log, st: newFSMState(),
		advanced: make(chan struct{}), persisted: func(time.Duration) {}, trustChanged: make(chan struct{}, 1)}
}

// setApplied moves the applied index and wakes waiters; f.mu is held.
func (f *fsm) setApplied(i uint64) {
	f.st.applied = i
	close(f.advanced)
	f.advanced = make(chan struct{})
}

// waitApplied returns once the entry at index i (or a snapshot holding it)
// has been applied here, or when ctx ends.
func (f *fsm) waitApplied(ctx context.Context, i uint64) error {
	for {
		f.mu.Lock()
		applied, ch := f.st.applied, f.advanced
		f.mu.Unlock()
		if applied >= i {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("wait for raft entry %d to be applied here (at %d): %w", i, applied, ctx.Err())
		}
	}
}

// Apply implements raft.FSM. The return value is always *applyResult.
func (f *fsm) Apply(l *raft.Log) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	if l.Index <= f.st.applied {
		// Replayed at startup already; nobody waits for this result.
		return &applyResult{Err: fmt.Errorf("%w: raft entry %d already applied", ErrInvalid, l.Index)}
	}
	f.setApplied(l.Index)
	c, err := decodeCommand(l.Data)
	if err != nil {
		f.log.Error("rejecting undecodable raft log entry", "index", l.Index, "err", err)
		return &applyResult{Err: err}
	}
	res := f.apply(c)
	f.recent[l.Index%recentResults] = indexedResult{l.Index, res}
	if res.Err != nil {
		f.log.Debug("command rejected", "op", c.Op, "principal", c.Name, "index", l.Index, "err", res.Err)
	}
	return res
}

func (f *fsm) apply(c *command) *applyResult {
	var (
		p   *Principal
		err error
	)
	switch c.Op {
	case opCreate:
		p, err = f.create(c)
	case opModify:
		p, err = f.modify(c)
	case opSetKeys:
		p, err = f.setKeys(c)
	case opDelete:
		err = f.delete(c)
	case opSetLock:
		p, err = f.setLock(c)
	case opMasterKeyAdd, opMasterKeyAck, opReseal, opMasterKeyRetire:
		err = f.applyMasterKey(c)
	case opAddToken:
		err = f.addToken(c)
	case opUseToken:
		err = f.useToken(c)
	case opSetCAKey:
		err = f.setCAKey(c)
	case opClusterCAAdd, opClusterCAAck, opClusterCADrop:
		err = f.applyClusterCA(c)
	case opImport:
		err = f.importRecords(c)
	case opSetPolicy:
		err = f.setPolicy(c)
	case opDeletePolicy:
		err = f.deletePolicy(c)
	default:
		err = fmt.Errorf("%w: unknown command %q", ErrInvalid, c.Op)
	}
	if err != nil {
		return &applyResult{Err: fmt.Errorf("%s %s: %w", c.Op, c.Name, err)}
	}
	return &applyResult{Principal: p}
}

func (f *fsm) create(c *command) (*Principal, error) {
	if err := f.checkName(c.Name); err != nil {
		return nil, err
	}
	if owner, used := f.owner(c.Name); used {
		if owner == c.Name {
			return nil, ErrExists
		}
		return nil, fmt.Errorf("%w: %s is an alias of %s", ErrExists, c.Name, owner)
	}
	var aliases []string
	if c.Aliases != nil {
		aliases = *c.Aliases
	}
	if err := f.checkAliases(c.Name, aliases); err != nil {
		return nil, err
	}
	if want := f.nextCreateKVNO(c.Name, aliases); c.KVNO != want {
		return nil, fmt.Errorf("%w: keys sealed for kvno %d, next is %d", ErrConflict, c.KVNO, want)
	}
	rec := &record{
		Name:     c.Name,
		Aliases:  slices.Clone(aliases),
		KVNO:     c.KVNO,
		Keys:     c.Keys,
		Created:  c.Time,
		Modified: c.Time,
		Revision: f.st.revision + 1,
	}
	if c.Attributes != nil {
		rec.Attributes = *c.Attributes
	}
	if err := f.setLimits(rec, c); err != nil {
		return nil, err
	}
	if c.Password {
		setPasswordTimes(rec, effectivePolicy(f.st.policies, rec.Policy), c.Time)
	}
	return f.commit(rec, nil)
}

func (f *fsm) modify(c *command) (*Principal, error) {
	old, err := f.current(c)
	if err != nil {
		return nil, err
	}
	rec := *old
	rec.Modified = c.Time
	rec.Revision = f.st.revision + 1
	if c.Attributes != nil {
		rec.Attributes = *c.Attributes
	}
	if err := f.setLimits(&rec, c); err != nil {
		return nil, err
	}
	if c.Policy != nil && c.PasswordExpires == nil {
		followPolicy(&rec, f.st.policies)
	}
	if c.Aliases != nil {
		if err := f.checkAliases(c.Name, *c.Aliases); err != nil {
			return nil, err
		}
		rec.Aliases = slices.Clone(*c.Aliases)
	}
	return f.commit(&rec, old)
}

func (f *fsm) setKeys(c *command) (*Principal, error) {
	old, err := f.current(c)
	if err != nil {
		return nil, err
	}
	if want := old.KVNO + 1; c.KVNO != want {
		return nil, fmt.Errorf("%w: keys sealed for kvno %d, next is %d", ErrConflict, c.KVNO, want)
	}
	rec := *old
	rec.PrevKVNO, rec.PrevKeys = old.KVNO, old.Keys
	rec.KVNO = c.KVNO
	rec.Keys = c.Keys
	rec.Modified = c.Time
	rec.Revision = f.st.revision + 1
	if c.Password {
		if err := f.applyPasswordRules(c, old, &rec); err != nil {
			return nil, err
		}
	}
	return f.commit(&rec, old)
}

func (f *fsm) setLock(c *command) (*Principal, error) {
	old, err := f.current(c)
	if err != nil {
		return nil, err
	}
	if c.Locked == nil {
		return nil, fmt.Errorf("%w: set_lock without a value", ErrInvalid)
	}
	rec := *old
	if rec.Locked != *c.Locked {
		// The lock time is that of the transition, so that a lockout can
		// expire a fixed time after it started even if it is re-asserted.
		rec.LockedAt = time.Time{}
		if *c.Locked {
			rec.LockedAt = c.Time
		}
	}
	rec.Locked = *c.Locked
	rec.Modified = c.Time
	rec.Revision = f.st.revision + 1
	return f.commit(&rec, old)
}

func (f *fsm) delete(c *command) error {
	old, err := f.current(c)
	if err != nil {
		return err
	}
	if err := checkDeletable(old.Name, f.realm, c.Force); err != nil {
		return err
	}
	f.st.revision++
	delete(f.st.records, old.Name)
	for _, a := range old.Aliases {
		delete(f.st.aliases, a)
	}
	for _, n := range append([]string{old.Name}, old.Aliases...) {
		f.bury(n, old.KVNO, c.Time)
	}
	f.index.remove(old.Name, old.Aliases)
	return nil
}

// current returns the live record a command targets, checking IfRevision.
func (f *fsm) current(c *command) (*record, error) {
	rec, ok := f.st.records[c.Name]
	if !ok {
		if owner, isAlias := f.st.aliases[c.Name]; isAlias {
			return nil, fmt.Errorf("%w: %s is an alias of %s; use the canonical name", ErrNotFound, c.Name, owner)
		}
		return nil, ErrNotFound
	}
	if c.IfRevision != 0 && c.IfRevision != rec.Revision {
		return nil, fmt.Errorf("%w: revision is %d, expected %d", ErrConflict, rec.Revision, c.IfRevision)
	}
	return rec, nil
}

// commit stores rec (replacing old, if any) after checking that its keys
// open; nothing is changed when they do not.
func (f *fsm) commit(rec, old *record) (*Principal, error) {
	if err := checkSealedKeys(rec.Keys); err != nil {
		return nil, err
	}
	if err := f.checkSealedVersions(rec.Keys); err != nil {
		return nil, err
	}
	p, err := f.unseal(rec)
	if err != nil {
		return nil, err
	}
	f.st.revision = rec.Revision
	f.st.records[rec.Name] = rec
	if old != nil {
		for _, a := range old.Aliases {
			if !slices.Contains(rec.Aliases, a) {
				delete(f.st.aliases, a)
				f.bury(a, old.KVNO, rec.Modified)
			}
		}
	}
	for _, a := range rec.Aliases {
		f.st.aliases[a] = rec.Name
	}
	var oldAliases []string
	if old != nil {
		oldAliases = old.Aliases
	}
	f.index.put(p, oldAliases)
	return p, nil
}

// bury records that name stopped existing at kvno, keeping the highest
// kvno ever seen for it.
func (f *fsm) bury(name string, kvno uint32, at time.Time) {
	t := f.st.tombstones[name]
	t.KVNO = max(t.KVNO, kvno)
	t.Revision = f.st.revision
	t.Deleted = at
	f.st.tombstones[name] = t
}

// owner returns the canonical name that currently uses name (itself or as
// an alias).
func (f *fsm) owner(name string) (string, bool) {
	if _, ok := f.st.records[name]; ok {
		return name, true
	}
	owner, ok := f.st.aliases[name]
	return owner, ok
}

func (f *fsm) checkName(name string) error { return checkCanonical(name, f.realm) }

// checkAliases validates the complete alias list of principal name.
func (f *fsm) checkAliases(name string, aliases []string) error {
	seen := map[string]bool{}
	for _, a := range aliases {
		if err := f.checkName(a); err != nil {
			return fmt.Errorf("alias: %w", err)
		}
		if err := checkNotProtectedAlias(a, f.realm); err != nil {
			return err
		}
		if a == name || seen[a] {
			return fmt.Errorf("%w: alias %s listed twice or equal to the name", ErrInvalid, a)
		}
		seen[a] = true
		if owner, used := f.owner(a); used && owner != name {
			return fmt.Errorf("%w: alias %s is already used by %s", ErrExists, a, owner)
		}
	}
	return nil
}

// nextCreateKVNO is the kvno a new principal with these names starts at:
// one past anything any of the names ever had.
func (f *fsm) nextCreateKVNO(name string, aliases []string) uint32 {
	kvno := f.st.tombstones[name].KVNO
	for _, a := range aliases {
		kvno = max(kvno, f.st.tombstones[a].KVNO)
	}
	return kvno + 1
}

// keyPlan returns the kvno that keys for name must be sealed for: the next
// create kvno if the principal does not exist, the next version otherwise.
// It is a hint for proposers; Apply re-checks it.
func (f *fsm) keyPlan(name string, aliases []string) (kvno uint32, exists bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if rec, ok := f.st.records[name]; ok {
		return rec.KVNO + 1, true
	}
	return f.nextCreateKVNO(name, aliases), false
}

// tombstoneOf returns what the FSM remembers about a deleted name.
func (f *fsm) tombstoneOf(name string) (tombstone, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.st.tombstones[name]
	return t, ok
}

// appliedIndex is the Raft index of the last command applied.
func (f *fsm) appliedIndex() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st.applied
}

// revision is the global revision of the last applied change.
func (f *fsm) revision() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st.revision
}

// setLimits applies the lifetimes, expirations and policy of c to rec.
func (f *fsm) setLimits(rec *record, c *command) error {
	if c.MaxLife != nil {
		if *c.MaxLife < 0 {
			return fmt.Errorf("%w: negative max life %s", ErrInvalid, *c.MaxLife)
		}
		rec.MaxLife = *c.MaxLife
	}
	if c.MaxRenewableLife != nil {
		if *c.MaxRenewableLife < 0 {
			return fmt.Errorf("%w: negative max renewable life %s", ErrInvalid, *c.MaxRenewableLife)
		}
		rec.MaxRenewableLife = *c.MaxRenewableLife
	}
	if c.Expires != nil {
		rec.Expires = c.Expires.UTC()
	}
	if c.PasswordExpires != nil {
		rec.PasswordExpires = c.PasswordExpires.UTC()
	}
	if c.Policy != nil {
		if err := f.checkPolicyName(*c.Policy); err != nil {
			return err
		}
		rec.Policy = *c.Policy
	}
	if c.EncTypes != nil {
		// An empty set goes back to the realm's.
		if len(*c.EncTypes) > 0 {
			if err := validateEncTypes(*c.EncTypes); err != nil {
				return err
			}
		}
		rec.EncTypes = slices.Clone(*c.EncTypes)
		if len(rec.EncTypes) == 0 {
			rec.EncTypes = nil
		}
	}
	return nil
}

func checkSealedKeys(keys []sealedKey) error {
	if len(keys) == 0 {
		return fmt.Errorf("%w: no keys", ErrInvalid)
	}
	seen := map[int32]bool{}
	for _, k := range keys {
		if _, ok := supportedEncTypes[k.EType]; !ok {
			return fmt.Errorf("%w: %d", ErrUnsupportedEncType, k.EType)
		}
		if seen[k.EType] {
			return fmt.Errorf("%w: two keys of enctype %d", ErrInvalid, k.EType)
		}
		seen[k.EType] = true
	}
	return nil
}

// unseal builds the decrypted, immutable Principal for rec.
func (f *fsm) unseal(rec *record) (*Principal, error) {
	keys, err := f.openKeys(rec.Name, rec.KVNO, rec.Keys)
	if err != nil {
		return nil, err
	}
	prev, err := f.openKeys(rec.Name, rec.PrevKVNO, rec.PrevKeys)
	if err != nil {
		return nil, err
	}
	return &Principal{
		Name:             rec.Name,
		Aliases:          slices.Clone(rec.Aliases),
		Keys:             keys,
		PreviousKeys:     prev,
		Attributes:       rec.Attributes,
		MaxLife:          rec.MaxLife,
		MaxRenewableLife: rec.MaxRenewableLife,
		Created:          rec.Created,
		Modified:         rec.Modified,
		Revision:         rec.Revision,
		Locked:           rec.Locked,
		LockedAt:         rec.LockedAt,
		Expires:          rec.Expires,
		PasswordExpires:  rec.PasswordExpires,
		Policy:           rec.Policy,
		PasswordChanged:  rec.PasswordChanged,
		EncTypes:         slices.Clone(rec.EncTypes),
	}, nil
}

// openKeys decrypts the sealed keys of one kvno of a principal.
func (f *fsm) openKeys(name string, kvno uint32, sealed []sealedKey) ([]Key, error) {
	if len(sealed) == 0 {
		return nil, nil
	}
	keys := make([]Key, 0, len(sealed))
	for _, k := range sealed {
		v, err := f.mk.open(name, k.EType, kvno, k.Sealed)
		if err != nil {
			return nil, err
		}
		keys = append(keys, Key{EType: k.EType, KVNO: kvno, Salt: k.Salt, Value: v})
	}
	return keys, nil
}

// result returns the result of the entry at index, if still remembered.
func (f *fsm) result(index uint64) (*applyResult, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.recent[index%recentResults]
	return r.res, r.index == index && r.res != nil
}

// count is the number of principals (not counting aliases).
func (f *fsm) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.st.records)
}
