package mitdump

import (
	"errors"
	"fmt"
	"strings"
)

// MIT salt types (KRB5_KDB_SALTTYPE_* in kdb.h). A key's salt is what the
// client must feed string-to-key, so the KDC announces it in
// PA-ETYPE-INFO2; each type says how MIT computes it from the name.
const (
	SaltNormal    = 0 // realm followed by the name components
	SaltV4        = 1 // empty (DES only; MIT no longer computes it)
	SaltNoRealm   = 2 // the name components without the realm
	SaltOnlyRealm = 3 // the realm alone
	SaltSpecial   = 4 // the bytes stored with the key
	SaltAFS3      = 5 // AFS string-to-key (DES only)
	SaltCertHash  = 6 // PKINIT certificate hash (no password key)
)

// ErrSalt is wrapped for a salt type that has no meaning for a modern
// enctype; the key cannot be carried over.
var ErrSalt = errors.New("unsupported salt type")

// SplitName splits an MIT principal name "a/b@REALM" into components and
// realm. Names with MIT's backslash escapes are refused: kdcha has no
// such names.
func SplitName(name string) (components []string, realm string, err error) {
	base, realm, ok := strings.Cut(name, "@")
	if !ok || base == "" || realm == "" || strings.ContainsAny(name, "\\") || strings.Contains(realm, "@") {
		return nil, "", fmt.Errorf("principal name %.80q: not of the form primary/instance@REALM without escapes", name)
	}
	return strings.Split(base, "/"), realm, nil
}

// SaltBytes returns the salt of key k of principal name, as MIT's
// krb5_dbe_compute_salt does.
func (k KeyData) SaltBytes(name string) ([]byte, error) {
	comps, realm, err := SplitName(name)
	if err != nil {
		return nil, err
	}
	st := int16(SaltNormal)
	if k.Ver > 1 {
		st = k.SaltType
	}
	switch st {
	case SaltNormal:
		return []byte(realm + strings.Join(comps, "")), nil
	case SaltNoRealm:
		return []byte(strings.Join(comps, "")), nil
	case SaltOnlyRealm:
		return []byte(realm), nil
	case SaltSpecial:
		return append([]byte{}, k.Salt...), nil
	}
	return nil, fmt.Errorf("%w %d", ErrSalt, st)
}

// SaltFor returns the key data salt fields that make salt the salt of a
// key of principal name: version 1 (nothing stored) for the normal salt,
// the special type with the bytes otherwise.
func SaltFor(name string, salt []byte) (ver int16, saltType int16, data []byte, err error) {
	comps, realm, err := SplitName(name)
	if err != nil {
		return 0, 0, nil, err
	}
	if string(salt) == realm+strings.Join(comps, "") {
		return 1, 0, nil, nil
	}
	return 2, SaltSpecial, append([]byte{}, salt...), nil
}
