package db

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"time"
)

// Importing: principals brought in whole from another KDC (an MIT dump,
// see package mitdump) keep their keys, kvnos and salts, so that users'
// passwords, services' keytabs and the tickets the other KDC issued keep
// working. A whole run is ONE Raft entry: the FSM validates every
// principal and policy of it and then applies all of it, or refuses all of
// it, so a failure mid-run cannot leave half a realm behind. The price is
// the size of that entry (about 450 bytes per principal with two AES
// keys); MaxImportBytes bounds it, and a run forwarded by a follower is
// also bounded by the cluster's forwarding limit (32 MiB, some 70,000
// principals): run bigger imports on the leader.

// MaxImportBytes bounds the encoded import command (one Raft entry).
const MaxImportBytes = 256 << 20

// ImportPrincipal is one principal to import.
type ImportPrincipal struct {
	// Name is "primary[/instance]@REALM" in this database's realm.
	Name string
	// Keys are the current keys: one kvno, at most one key per enctype,
	// each with the salt clients must use.
	Keys []Key
	// PreviousKeys are optional keys of one older kvno, kept so tickets
	// issued with them stay valid.
	PreviousKeys     []Key
	Attributes       Attributes
	MaxLife          time.Duration
	MaxRenewableLife time.Duration
	Expires          time.Time
	PasswordExpires  time.Time
	// Policy names a policy of the request or of the database.
	Policy string
	// PasswordChanged is when the password was last set (zero: unknown),
	// from which a policy's max life counts.
	PasswordChanged time.Time
}

// ImportRequest is one import run.
type ImportRequest struct {
	Principals []ImportPrincipal
	Policies   []PasswordPolicy
	// Overwrite replaces existing principals and policies of the same
	// name (and lets an imported kvno be at or below one a deleted
	// principal of that name had). Without it any existing name refuses
	// the whole run. The realm's krbtgt can only be replaced this way;
	// the other protected principals (kdcha/health, kadmin/*) never are.
	Overwrite bool
	// DryRun checks the whole run against this replica and reports what
	// it would do without writing anything.
	DryRun bool
}

// ImportResult summarises a run.
type ImportResult struct {
	Created  []string `json:"created"`
	Replaced []string `json:"replaced,omitempty"`
	Policies int      `json:"policies"`
	DryRun   bool     `json:"dry_run,omitempty"`
}

// importData is the payload of an import command; records are complete
// except for the times and revisions the FSM assigns.
type importData struct {
	Principals []*record        `json:"principals"`
	Policies   []PasswordPolicy `json:"policies,omitempty"`
	Overwrite  bool             `json:"overwrite,omitempty"`
}

// Import imports a run of principals and policies as one replicated write
// (see above). Keys are sealed with this realm's master key here, before
// they enter the log.
func (d *DB) Import(ctx context.Context, req ImportRequest) (*ImportResult, error) {
	in := &importData{Policies: req.Policies, Overwrite: req.Overwrite}
	for _, ip := range req.Principals {
		rec, err := d.importRecord(ip)
		if err != nil {
			return nil, err
		}
		in.Principals = append(in.Principals, rec)
	}
	c := &command{Op: opImport, Name: fmt.Sprintf("(%d principals, %d policies)", len(in.Principals), len(in.Policies)), Import: in}
	d.writeMu.Lock()
	defer d.writeMu.Unlock()
	if d.lagging() {
		if err := d.Sync(ctx); err != nil {
			return nil, fmt.Errorf("import: catch up before checking names: %w", err)
		}
	}
	c.Time = time.Now().UTC()
	d.fsm.mu.Lock()
	plan, err := d.fsm.planImport(c)
	d.fsm.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	res := &ImportResult{Policies: len(in.Policies), DryRun: req.DryRun}
	for i, r := range plan.recs {
		if plan.olds[i] != nil {
			res.Replaced = append(res.Replaced, r.Name)
		} else {
			res.Created = append(res.Created, r.Name)
		}
	}
	if req.DryRun {
		return res, nil
	}
	b, err := encodeCommand(c)
	if err != nil {
		return nil, err
	}
	if len(b) > MaxImportBytes {
		return nil, fmt.Errorf("import: %w: %d bytes in one entry, the limit is %d; split the dump", ErrInvalid, len(b), MaxImportBytes)
	}
	if _, err := d.propose(ctx, c); err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	return res, nil
}

// importRecord checks one principal and seals its keys.
func (d *DB) importRecord(ip ImportPrincipal) (*record, error) {
	name, _, err := d.canonical(ip.Name)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	kvno, keys, err := importKeys(name, ip.Keys)
	if err != nil {
		return nil, err
	}
	sealed, err := sealKeys(d.mk, name, kvno, keys)
	if err != nil {
		return nil, err
	}
	rec := &record{
		Name: name, KVNO: kvno, Keys: sealed, Attributes: ip.Attributes,
		MaxLife: ip.MaxLife, MaxRenewableLife: ip.MaxRenewableLife,
		Expires: ip.Expires.UTC(), PasswordExpires: ip.PasswordExpires.UTC(), Policy: ip.Policy,
	}
	if ip.Expires.IsZero() {
		rec.Expires = time.Time{}
	}
	if ip.PasswordExpires.IsZero() {
		rec.PasswordExpires = time.Time{}
	}
	if !ip.PasswordChanged.IsZero() {
		rec.PasswordChanged = ip.PasswordChanged.UTC()
	}
	if len(ip.PreviousKeys) > 0 {
		pkvno, pkeys, err := importKeys(name, ip.PreviousKeys)
		if err != nil {
			return nil, err
		}
		if rec.PrevKeys, err = sealKeys(d.mk, name, pkvno, pkeys); err != nil {
			return nil, err
		}
		rec.PrevKVNO = pkvno
	}
	return rec, nil
}

// importKeys checks that keys share one non-zero kvno and have the size of
// their (supported) enctype.
func importKeys(name string, keys []Key) (uint32, []plainKey, error) {
	if len(keys) == 0 {
		return 0, nil, fmt.Errorf("import %s: %w: no keys", name, ErrInvalid)
	}
	kvno := keys[0].KVNO
	out := make([]plainKey, 0, len(keys))
	for _, k := range keys {
		size, err := keyBytes(k.EType)
		if err != nil {
			return 0, nil, fmt.Errorf("import %s: %w", name, err)
		}
		if k.KVNO == 0 || k.KVNO != kvno {
			return 0, nil, fmt.Errorf("import %s: %w: keys of kvno %d and %d in one set", name, ErrInvalid, kvno, k.KVNO)
		}
		if len(k.Value) != size {
			return 0, nil, fmt.Errorf("import %s: %w: %s key of %d bytes", name, ErrInvalid, EncTypeName(k.EType), len(k.Value))
		}
		out = append(out, plainKey{etype: k.EType, salt: k.Salt, value: k.Value})
	}
	return kvno, out, nil
}

// importPlan is a checked import: the records to store (olds[i] is the
// record recs[i] replaces, or nil), their decrypted principals and the
// policies after the run.
type importPlan struct {
	recs       []*record
	olds       []*record
	principals []*Principal
	policies   map[string]PasswordPolicy
	revision   uint64
}

// planImport checks a whole import command against the current state and
// builds everything it would store; it changes nothing. f.mu is held.
func (f *fsm) planImport(c *command) (*importPlan, error) {
	in := c.Import
	if in == nil || len(in.Principals)+len(in.Policies) == 0 {
		return nil, fmt.Errorf("%w: nothing to import", ErrInvalid)
	}
	plan := &importPlan{policies: maps.Clone(f.st.policies), revision: f.st.revision}
	seenPol := map[string]bool{}
	for _, p := range in.Policies {
		if err := p.check(); err != nil {
			return nil, err
		}
		if seenPol[p.Name] {
			return nil, fmt.Errorf("%w: policy %s listed twice", ErrInvalid, p.Name)
		}
		seenPol[p.Name] = true
		if _, ok := f.st.policies[p.Name]; ok && !in.Overwrite {
			return nil, fmt.Errorf("%w: policy %s already exists (overwrite replaces it)", ErrExists, p.Name)
		}
		plan.policies[p.Name] = p
	}
	seen := map[string]bool{}
	for _, r := range in.Principals {
		if r == nil {
			return nil, fmt.Errorf("%w: null principal", ErrInvalid)
		}
		rec, old, err := f.checkImported(r, in, plan.policies, seen)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.Name, err)
		}
		plan.revision++
		rec.Revision = plan.revision
		rec.Created, rec.Modified = c.Time, c.Time
		if old != nil {
			rec.Created = old.Created
		}
		p, err := f.unseal(rec)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.Name, err)
		}
		plan.recs = append(plan.recs, rec)
		plan.olds = append(plan.olds, old)
		plan.principals = append(plan.principals, p)
	}
	return plan, nil
}

// checkImported checks one imported record and returns the copy to store
// and the record it replaces.
func (f *fsm) checkImported(r *record, in *importData, policies map[string]PasswordPolicy, seen map[string]bool) (*record, *record, error) {
	if err := f.checkName(r.Name); err != nil {
		return nil, nil, err
	}
	if seen[r.Name] {
		return nil, nil, fmt.Errorf("%w: listed twice", ErrInvalid)
	}
	seen[r.Name] = true
	if len(r.Aliases) > 0 || r.Locked || !r.LockedAt.IsZero() {
		return nil, nil, fmt.Errorf("%w: imports carry no aliases or lock state", ErrInvalid)
	}
	if owner, isAlias := f.st.aliases[r.Name]; isAlias {
		return nil, nil, fmt.Errorf("%w: it is an alias of %s", ErrExists, owner)
	}
	old := f.st.records[r.Name]
	switch {
	case old != nil && !in.Overwrite:
		return nil, nil, fmt.Errorf("%w (overwrite replaces it)", ErrExists)
	case old != nil && isProtected(r.Name, f.realm) && !strings.HasPrefix(r.Name, "krbtgt/"):
		return nil, nil, fmt.Errorf("%w: an import never replaces %s", ErrProtected, r.Name)
	case old == nil && f.st.tombstones[r.Name].KVNO >= r.KVNO && !in.Overwrite:
		return nil, nil, fmt.Errorf("%w: a deleted %s had kvno %d, the import brings kvno %d (overwrite allows it)",
			ErrConflict, r.Name, f.st.tombstones[r.Name].KVNO, r.KVNO)
	}
	if r.KVNO == 0 {
		return nil, nil, fmt.Errorf("%w: kvno 0", ErrInvalid)
	}
	if err := checkSealedKeys(r.Keys); err != nil {
		return nil, nil, err
	}
	if r.PrevKVNO != 0 || len(r.PrevKeys) > 0 {
		if r.PrevKVNO == 0 || r.PrevKVNO >= r.KVNO {
			return nil, nil, fmt.Errorf("%w: previous kvno %d not below kvno %d", ErrInvalid, r.PrevKVNO, r.KVNO)
		}
		if err := checkSealedKeys(r.PrevKeys); err != nil {
			return nil, nil, err
		}
	}
	if r.MaxLife < 0 || r.MaxRenewableLife < 0 {
		return nil, nil, fmt.Errorf("%w: negative lifetime", ErrInvalid)
	}
	if r.EncTypes != nil {
		if err := validateEncTypes(r.EncTypes); err != nil {
			return nil, nil, err
		}
	}
	if _, ok := policies[r.Policy]; r.Policy != "" && !ok {
		return nil, nil, fmt.Errorf("%w: policy %s does not exist", ErrInvalid, r.Policy)
	}
	rec := *r
	return &rec, old, nil
}

// importRecords applies an import command: all of it or, if any part is
// refused, nothing.
func (f *fsm) importRecords(c *command) error {
	plan, err := f.planImport(c)
	if err != nil {
		return err
	}
	f.st.policies = plan.policies
	for i, rec := range plan.recs {
		old := plan.olds[i]
		var oldAliases []string
		if old != nil {
			oldAliases = old.Aliases
			for _, a := range old.Aliases {
				delete(f.st.aliases, a)
				f.bury(a, old.KVNO, c.Time)
			}
		}
		f.st.records[rec.Name] = rec
		f.index.put(plan.principals[i], oldAliases)
	}
	f.st.revision = plan.revision
	return nil
}

// SupportedEncType reports whether the database holds keys of enctype
// etype (importers use it to report what they leave out).
func SupportedEncType(etype int32) bool {
	_, ok := supportedEncTypes[etype]
	return ok
}
