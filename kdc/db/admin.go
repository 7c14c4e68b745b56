package db

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// CreateRequest describes a new principal. Exactly one of Password and
// RandomKey must be set.
type CreateRequest struct {
	// Name is "primary[/instance]" or "primary[/instance]@REALM".
	Name string
	// Password derives the keys (user principals). It is checked against
	// the principal's policy and never logged or stored.
	Password *string
	// RandomKey makes random keys (service principals).
	RandomKey bool
	// Attributes are the flags; nil means the defaults: RequiresPreauth for
	// password principals, nothing set for random-key ones.
	Attributes *Attributes
	// MaxLife and MaxRenewableLife cap tickets; 0 means the realm limit.
	MaxLife          time.Duration
	MaxRenewableLife time.Duration
	// Aliases are other names of the principal, in the same realm.
	Aliases []string
	// Policy names the password policy ("": the realm default).
	Policy string
	// EncTypes are the enctypes of the principal's keys, now and at every
	// later password change and rekey (nil: the realm's).
	EncTypes []int32
}

// Modification lists the changes Modify makes: a nil field is left alone.
type Modification struct {
	// Attributes replaces all flags.
	Attributes *Attributes
	// MaxLife and MaxRenewableLife replace the limits (0 = realm limit).
	MaxLife          *time.Duration
	MaxRenewableLife *time.Duration
	// Aliases replaces the whole alias list (empty slice removes all).
	Aliases *[]string
	// Expires and PasswordExpires replace the principal's and its
	// password's expiration (the zero time: never).
	Expires         *time.Time
	PasswordExpires *time.Time
	// Policy replaces the password policy ("": the realm default).
	Policy *string
	// EncTypes replaces the enctype set (empty: the realm's). The keys
	// are not changed: the set applies from the next password change or
	// rekey, as MIT's supported enctypes do.
	EncTypes *[]int32
	// IfRevision, when non-zero, makes Modify fail with ErrConflict if the
	// principal changed since the caller read it at this revision, so a
	// read-modify-write of Attributes cannot lose a concurrent change.
	IfRevision uint64
}

// Get returns the principal with the given name or alias (realm defaulted).
// The result holds key material: callers must not print Keys.
func (d *DB) Get(name string) (*Principal, error) {
	canon, _, err := d.canonical(name)
	if err != nil {
		return nil, err
	}
	return d.find(canon)
}

// List returns every principal once, sorted by canonical name.
func (d *DB) List() []*Principal { return d.idx.list() }

// Create adds a principal. Its first kvno is one past any kvno the name or
// its aliases ever had, so re-creating a deleted principal never reuses a
// key version.
func (d *DB) Create(ctx context.Context, req CreateRequest) (*Principal, error) {
	name, comps, err := d.canonical(req.Name)
	if err != nil {
		return nil, err
	}
	aliases, err := d.canonicalAliases(req.Aliases)
	if err != nil {
		return nil, err
	}
	if req.MaxLife < 0 || req.MaxRenewableLife < 0 {
		return nil, fmt.Errorf("create %s: %w: negative lifetime", name, ErrInvalid)
	}
	etypes := d.etypes
	if req.EncTypes != nil {
		if err := validateEncTypes(req.EncTypes); err != nil {
			return nil, fmt.Errorf("create %s: %w", name, err)
		}
		etypes = req.EncTypes
	}
	attrs := Attributes{}
	var keys []plainKey
	switch {
	case req.Password != nil && req.RandomKey:
		return nil, fmt.Errorf("create %s: %w: both a password and a random key requested", name, ErrInvalid)
	case req.Password != nil:
		pol := d.policyNamed(req.Policy)
		if err := pol.CheckPassword(comps, *req.Password); err != nil {
			return nil, fmt.Errorf("create %s: %w", name, err)
		}
		attrs.RequiresPreauth = true
		keys, err = passwordKeys(*req.Password, comps, d.realm, etypes)
	case req.RandomKey:
		keys, err = randomKeys(comps, d.realm, etypes)
	default:
		return nil, fmt.Errorf("create %s: %w: neither a password nor a random key requested", name, ErrInvalid)
	}
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", name, err)
	}
	if req.Attributes != nil {
		attrs = *req.Attributes
	}

	return d.proposeKeys(ctx, name, aliases, keys, func(kvno uint32, exists bool, sealed []sealedKey) (*command, error) {
		if exists {
			return nil, fmt.Errorf("create %s: %w", name, ErrExists)
		}
		return &command{
			Op:               opCreate,
			Name:             name,
			KVNO:             kvno,
			Keys:             sealed,
			Attributes:       &attrs,
			MaxLife:          &req.MaxLife,
			MaxRenewableLife: &req.MaxRenewableLife,
			Aliases:          &aliases,
			Policy:           &req.Policy,
			EncTypes:         &req.EncTypes,
			Password:         req.Password != nil,
		}, nil
	})
}

// Modify changes attributes, limits or aliases of a principal (by name or
// alias). Keys and kvno are untouched.
func (d *DB) Modify(ctx context.Context, name string, m Modification) (*Principal, error) {
	p, err := d.target(ctx, name)
	if err != nil {
		return nil, err
	}
	if m.Attributes == nil && m.MaxLife == nil && m.MaxRenewableLife == nil && m.Aliases == nil &&
		m.Expires == nil && m.PasswordExpires == nil && m.Policy == nil && m.EncTypes == nil {
		return nil, fmt.Errorf("modify %s: %w: nothing to change", p.Name, ErrInvalid)
	}
	// Checked here as in Create, so a bad set never reaches the log (an
	// empty one means the realm's default).
	if m.EncTypes != nil && len(*m.EncTypes) > 0 {
		if err := validateEncTypes(*m.EncTypes); err != nil {
			return nil, fmt.Errorf("modify %s: %w", p.Name, err)
		}
	}
	c := &command{
		Op:               opModify,
		Name:             p.Name,
		IfRevision:       m.IfRevision,
		Attributes:       m.Attributes,
		MaxLife:          m.MaxLife,
		MaxRenewableLife: m.MaxRenewableLife,
		Expires:          m.Expires,
		PasswordExpires:  m.PasswordExpires,
		Policy:           m.Policy,
		EncTypes:         m.EncTypes,
	}
	if m.Aliases != nil {
		aliases, err := d.canonicalAliases(*m.Aliases)
		if err != nil {
			return nil, err
		}
		c.Aliases = &aliases
	}
	d.writeMu.Lock()
	defer d.writeMu.Unlock()
	return d.propose(ctx, c)
}

// SetPassword replaces a principal's keys with keys derived from password,
// at the next kvno, as an administrator: the principal's policy applies
// except its min life.
func (d *DB) SetPassword(ctx context.Context, name, password string) (*Principal, error) {
	return d.setPassword(ctx, name, password, false)
}

// ChangePassword is SetPassword by the principal itself (kpasswd): the
// policy's min life applies too.
func (d *DB) ChangePassword(ctx context.Context, name, password string) (*Principal, error) {
	return d.setPassword(ctx, name, password, true)
}

func (d *DB) setPassword(ctx context.Context, name, password string, self bool) (*Principal, error) {
	p, err := d.target(ctx, name)
	if err != nil {
		return nil, err
	}
	comps, _, err := ParseName(p.Name, d.realm)
	if err != nil {
		return nil, err
	}
	pol := d.PolicyOf(p)
	if err := pol.CheckPassword(comps, password); err != nil {
		return nil, fmt.Errorf("set password of %s: %w", p.Name, err)
	}
	keys, err := passwordKeys(password, comps, d.realm, d.encTypesOf(p))
	if err != nil {
		return nil, fmt.Errorf("set password of %s: %w", p.Name, err)
	}
	return d.proposeKeys(ctx, p.Name, nil, keys, func(kvno uint32, exists bool, sealed []sealedKey) (*command, error) {
		if !exists {
			return nil, fmt.Errorf("set password of %s: %w", p.Name, ErrNotFound)
		}
		return &command{Op: opSetKeys, Name: p.Name, KVNO: kvno, Keys: sealed, Password: true, SelfService: self}, nil
	})
}

// Rekey gives a principal new random keys at the next kvno.
func (d *DB) Rekey(ctx context.Context, name string) (*Principal, error) {
	p, err := d.target(ctx, name)
	if err != nil {
		return nil, err
	}
	comps, _, err := ParseName(p.Name, d.realm)
	if err != nil {
		return nil, err
	}
	keys, err := randomKeys(comps, d.realm, d.encTypesOf(p))
	if err != nil {
		return nil, fmt.Errorf("rekey %s: %w", p.Name, err)
	}
	return d.setKeys(ctx, p.Name, keys)
}

func (d *DB) setKeys(ctx context.Context, name string, keys []plainKey) (*Principal, error) {
	return d.proposeKeys(ctx, name, nil, keys, func(kvno uint32, exists bool, sealed []sealedKey) (*command, error) {
		if !exists {
			return nil, fmt.Errorf("set keys of %s: %w", name, ErrNotFound)
		}
		return &command{Op: opSetKeys, Name: name, KVNO: kvno, Keys: sealed}, nil
	})
}

// SetLocked locks or unlocks a principal (lockout transitions are the only
// lockout state that is replicated; failure counters stay node-local). The
// unlocked->locked transition sets Principal.LockedAt, which re-locking
// keeps, so the KDC can expire a lockout without another write.
func (d *DB) SetLocked(ctx context.Context, name string, locked bool) (*Principal, error) {
	p, err := d.target(ctx, name)
	if err != nil {
		return nil, err
	}
	d.writeMu.Lock()
	defer d.writeMu.Unlock()
	return d.propose(ctx, &command{Op: opSetLock, Name: p.Name, Locked: &locked})
}

// Delete removes a principal and its aliases. The name must be the
// canonical one: deleting through an alias is refused because it would
// remove more than the caller named. The kvno is remembered so that a
// re-created principal continues from it. Protected principals (see
// ErrProtected) need force, and the realm's krbtgt cannot be deleted.
func (d *DB) Delete(ctx context.Context, name string, force bool) error {
	canon, _, err := d.canonical(name)
	if err != nil {
		return err
	}
	p, err := d.target(ctx, canon)
	if err != nil {
		return err
	}
	if canon != p.Name {
		return fmt.Errorf("delete %s: %w: it is an alias of %s (delete %s, or modify its aliases)", canon, ErrInvalidName, p.Name, p.Name)
	}
	d.writeMu.Lock()
	defer d.writeMu.Unlock()
	_, err = d.propose(ctx, &command{Op: opDelete, Name: p.Name, Force: force})
	return err
}

// encTypesOf is the enctypes new keys of p are made for: its own set, else
// the realm's.
func (d *DB) encTypesOf(p *Principal) []int32 {
	if len(p.EncTypes) > 0 {
		return p.EncTypes
	}
	return d.etypes
}

// canonical canonicalises name in this realm and returns its components.
func (d *DB) canonical(name string) (string, []string, error) {
	comps, realm, err := ParseName(name, d.realm)
	if err != nil {
		return "", nil, err
	}
	if realm != d.realm {
		return "", nil, fmt.Errorf("%w: %q is in realm %s, this database serves %s", ErrInvalidName, name, realm, d.realm)
	}
	return strings.Join(comps, "/") + "@" + realm, comps, nil
}

func (d *DB) canonicalAliases(names []string) ([]string, error) {
	out := make([]string, 0, len(names))
	for _, n := range names {
		c, _, err := d.canonical(n)
		if err != nil {
			return nil, fmt.Errorf("alias: %w", err)
		}
		out = append(out, c)
	}
	return out, nil
}

// find looks up a canonical name or alias and explains a miss.
func (d *DB) find(name string) (*Principal, error) {
	if p, ok := d.idx.Lookup(name); ok {
		return p, nil
	}
	var hints []string
	if t, ok := d.fsm.tombstoneOf(name); ok {
		hints = append(hints, fmt.Sprintf("deleted %s at kvno %d", t.Deleted.Format(time.RFC3339), t.KVNO))
	}
	if s := d.idx.Similar(name, 3); len(s) > 0 {
		hints = append(hints, "did you mean "+strings.Join(s, ", ")+"?")
	}
	if len(hints) > 0 {
		return nil, fmt.Errorf("%w: %s (%s)", ErrNotFound, name, strings.Join(hints, "; "))
	}
	return nil, fmt.Errorf("%w: %s", ErrNotFound, name)
}
