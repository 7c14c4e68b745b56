package db

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Principal is one entry of the principal database as the KDC sees it:
// decrypted keys, flags and limits. Values handed out by a Reader are
// immutable; an update replaces the whole value in the index, so a reader may
// keep using a *Principal after the lock that found it is released.
type Principal struct {
	// Name is the canonical name, "primary[/instance...]@REALM".
	Name string `json:"name"`
	// Aliases are other names, in the same realm, that resolve to this
	// principal (for example "zookeeper/10.0.0.5@R" for
	// "zookeeper/zk1.example.com@R").
	Aliases []string `json:"aliases,omitempty"`
	// Keys holds the current keys, one per enctype, all with the same KVNO.
	// In the index the Value is plaintext; at rest it is sealed with the
	// realm master key.
	Keys []Key `json:"keys"`
	// PreviousKeys are the keys the last rekey or password change replaced
	// (one kvno below Keys), kept so that tickets encrypted in them (TGTs
	// issued before a krbtgt rekey) stay valid until they expire, as MIT's
	// -keepold and AD's previous krbtgt password do. New tickets always use
	// Keys.
	PreviousKeys []Key `json:"previous_keys,omitempty"`
	// Attributes are the policy flags (preauth, disabled, forwardable...).
	Attributes Attributes `json:"attributes"`
	// MaxLife caps ticket lifetime for this principal; 0 means the realm limit.
	MaxLife time.Duration `json:"max_life,omitempty"`
	// MaxRenewableLife caps renew-till; 0 means the realm limit.
	MaxRenewableLife time.Duration `json:"max_renewable_life,omitempty"`
	// Created and Modified are the times of the commands that created and
	// last changed the principal (leader clock).
	Created  time.Time `json:"created"`
	Modified time.Time `json:"modified"`
	// Revision increases on every change of this principal and never goes
	// backwards, even across delete and re-create.
	Revision uint64 `json:"revision"`
	// Locked is set when the principal was locked out after repeated preauth
	// failures; the KDC treats it like Disabled until an admin unlocks it.
	Locked bool `json:"locked,omitempty"`
	// LockedAt is when the principal was locked (zero when unlocked), so
	// that the KDC can let a lockout expire after a configured duration
	// without another replicated write.
	LockedAt time.Time `json:"locked_at,omitzero"`
	// Expires is when the principal itself expires (MIT's principal
	// expiration); zero means never.
	Expires time.Time `json:"expires,omitzero"`
	// PasswordExpires is when its password expires; zero means never.
	PasswordExpires time.Time `json:"password_expires,omitzero"`
	// Policy names the PasswordPolicy attached to the principal ("" for
	// none).
	Policy string `json:"policy,omitempty"`
	// PasswordChanged is when the keys were last set from a password
	// (zero if never, or before kdcha recorded it).
	PasswordChanged time.Time `json:"password_changed,omitzero"`
	// EncTypes are the enctypes password changes and rekeys make keys
	// for; nil means the realm's (Options.EncTypes), which is also what
	// records written before kdcha stored the set mean.
	EncTypes []int32 `json:"enctypes,omitempty"`
}

// Key is one long-term key of a principal.
type Key struct {
	// EType is the RFC 3961 enctype number (17, 18, 19, 20).
	EType int32 `json:"etype"`
	// KVNO is the key version number.
	KVNO uint32 `json:"kvno"`
	// Salt is the string-to-key salt the key was derived with; it is always
	// sent explicitly in PA-ETYPE-INFO2, so it must be kept even for random keys.
	Salt string `json:"salt"`
	// Value is the key material.
	Value []byte `json:"value"`
}

// Attributes are a principal's policy flags. The zero value is the
// permissive default for a service principal except for RequiresPreauth,
// which callers set for password principals.
type Attributes struct {
	// RequiresPreauth makes the AS exchange demand PA-ENC-TIMESTAMP.
	RequiresPreauth bool `json:"requires_preauth,omitempty"`
	// Disabled refuses every ticket for or to this principal.
	Disabled bool `json:"disabled,omitempty"`
	// DisallowForwardable refuses FORWARDABLE/FORWARDED tickets.
	DisallowForwardable bool `json:"disallow_forwardable,omitempty"`
	// DisallowRenewable refuses RENEWABLE tickets.
	DisallowRenewable bool `json:"disallow_renewable,omitempty"`
	// DisallowProxiable refuses PROXIABLE/PROXY tickets.
	DisallowProxiable bool `json:"disallow_proxiable,omitempty"`
	// DisallowService refuses service tickets whose server is this principal.
	DisallowService bool `json:"disallow_service,omitempty"`
	// MaySetPasswords lets this principal set other principals' passwords
	// through kpasswd's set-password request (RFC 3244 version 0xff80).
	MaySetPasswords bool `json:"may_set_passwords,omitempty"`
}

// KeyFor returns the principal's key of the given enctype, if any.
func (p *Principal) KeyFor(etype int32) (Key, bool) {
	for _, k := range p.Keys {
		if k.EType == etype {
			return k, true
		}
	}
	return Key{}, false
}

// KeyForVersion returns the key of the given enctype and kvno among the
// current and previous keys.
func (p *Principal) KeyForVersion(etype int32, kvno uint32) (Key, bool) {
	for _, keys := range [][]Key{p.Keys, p.PreviousKeys} {
		for _, k := range keys {
			if k.EType == etype && k.KVNO == kvno {
				return k, true
			}
		}
	}
	return Key{}, false
}

// KVNO returns the version of the current keys (0 if there are none).
func (p *Principal) KVNO() uint32 {
	if len(p.Keys) == 0 {
		return 0
	}
	return p.Keys[0].KVNO
}

// Reader is the narrow read interface the KDC uses. Implementations answer
// from memory: no disk I/O and no network round trip.
type Reader interface {
	// Realm is the realm this database serves.
	Realm() string
	// Lookup finds a principal by canonical name or alias
	// ("primary[/instance]@REALM"). Names are case-sensitive.
	Lookup(name string) (*Principal, bool)
	// Similar returns up to n existing names (canonical or alias) that look
	// like name, closest first, for "did you mean" log lines. Its cost is
	// bounded whatever name and the number of principals: the KDC calls
	// it for unknown names sent by anyone.
	Similar(name string, n int) []string
}

// Errors returned by database operations; check with errors.Is.
var (
	ErrNotFound     = errors.New("principal not found")
	ErrExists       = errors.New("principal already exists")
	ErrInvalidName  = errors.New("invalid principal name")
	ErrWeakPassword = errors.New("password refused by policy")
	ErrNotLeader    = errors.New("not the raft leader")
	ErrNoQuorum     = errors.New("no raft quorum: writes are unavailable")
	// ErrInvalid is returned for a malformed request other than a bad name
	// (negative lifetime, no keys, duplicate alias...).
	ErrInvalid = errors.New("invalid request")
	// ErrConflict means the principal changed between the proposer reading it
	// and the command being applied (another admin won the race); retry.
	ErrConflict = errors.New("concurrent modification of principal")
	// ErrOutcomeUnknown means a forwarded write reached the leader (or may
	// have) but no answer came back: it may or may not have been applied.
	ErrOutcomeUnknown = errors.New("outcome unknown: the leader may have applied the change; check before retrying")
	// ErrUnsupportedEncType is returned for enctypes the database refuses to
	// hold (DES, 3DES, RC4, unknown numbers).
	ErrUnsupportedEncType = errors.New("unsupported enctype")
	// ErrMasterKey covers a master key stash that is missing, malformed or
	// readable by group/other.
	ErrMasterKey = errors.New("bad master key stash")
	// ErrWrongMasterKey means the stash is well formed but is not the key the
	// data directory was created with.
	ErrWrongMasterKey = errors.New("master key does not match the database")
	// ErrRealmMismatch means the data directory was created for another realm.
	ErrRealmMismatch = errors.New("data directory belongs to another realm")
)

// Limits on principal names. MIT's parser has no fixed bound, but its
// tools and LDAP schema treat a name as a short string; these are generous for
// every real name (host/<253-byte FQDN>@<realm> fits) and keep hostile input
// from sizing indexes, logs and error messages.
const (
	// MaxNameComponents bounds the "/"-separated components of a name.
	MaxNameComponents = 8
	// MaxComponentBytes bounds one component, and the realm.
	MaxComponentBytes = 255
	// MaxNameBytes bounds the whole "a/b@REALM" name.
	MaxNameBytes = 1024
)

// ParseName splits "a/b@REALM" into components and realm, checking the
// syntax. A name without "@" gets defaultRealm. Names must be valid UTF-8
// without control or invisible formatting characters (bidi overrides would
// make "user\u202eevil" display as "userlive"), within the limits above.
func ParseName(name, defaultRealm string) (components []string, realm string, err error) {
	if len(name) > MaxNameBytes {
		return nil, "", fmt.Errorf("%w: %d bytes, the limit is %d", ErrInvalidName, len(name), MaxNameBytes)
	}
	base, realm, hasRealm := strings.Cut(name, "@")
	if !hasRealm {
		realm = defaultRealm
	}
	if base == "" || realm == "" || strings.ContainsAny(realm, "@/\\") {
		return nil, "", fmt.Errorf("%w: %q", ErrInvalidName, name)
	}
	if err := checkNamePart(realm); err != nil {
		return nil, "", fmt.Errorf("%w: %q: realm %w", ErrInvalidName, name, err)
	}
	components = strings.Split(base, "/")
	if len(components) > MaxNameComponents {
		return nil, "", fmt.Errorf("%w: %q has %d components, the limit is %d", ErrInvalidName, name, len(components), MaxNameComponents)
	}
	for _, c := range components {
		if c == "" || strings.ContainsRune(c, '\\') {
			return nil, "", fmt.Errorf("%w: %q", ErrInvalidName, name)
		}
		if err := checkNamePart(c); err != nil {
			return nil, "", fmt.Errorf("%w: %q: %w", ErrInvalidName, name, err)
		}
	}
	return components, realm, nil
}

// checkNamePart checks one component or the realm: its length, valid UTF-8,
// and no character that is invisible or reorders text when displayed.
func checkNamePart(s string) error {
	if len(s) > MaxComponentBytes {
		return fmt.Errorf("component of %d bytes, the limit is %d", len(s), MaxComponentBytes)
	}
	if !utf8.ValidString(s) {
		return errors.New("not valid UTF-8")
	}
	for _, r := range s {
		// Cc: controls (NUL, tabs, newlines, DEL, C1); Cf: format characters
		// (bidi overrides and isolates, zero-width joiners, BOM); spaces of
		// every kind.
		if unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) || unicode.IsSpace(r) {
			return fmt.Errorf("character %U not allowed", r)
		}
	}
	return nil
}

// CanonicalName parses name (defaulting the realm) and returns it in the
// "a/b@REALM" form used as the database key.
func CanonicalName(name, defaultRealm string) (string, error) {
	comps, realm, err := ParseName(name, defaultRealm)
	if err != nil {
		return "", err
	}
	return strings.Join(comps, "/") + "@" + realm, nil
}

// DefaultSalt is the RFC 4120 default salt: the realm followed by the name
// components, with no separators.
func DefaultSalt(components []string, realm string) string {
	return realm + strings.Join(components, "")
}
