package db

import "fmt"

// NewStaticReader returns a Reader over a fixed set of principals. It is
// the in-memory twin for tests of the KDC protocol; the product always
// reads through a DB. Principals are used as given (not copied) and must
// not be changed afterwards.
func NewStaticReader(realm string, principals ...*Principal) (Reader, error) {
	idx := newIndex(realm)
	for _, p := range principals {
		for _, n := range append([]string{p.Name}, p.Aliases...) {
			if err := checkCanonical(n, realm); err != nil {
				return nil, err
			}
			if _, dup := idx.Lookup(n); dup {
				return nil, fmt.Errorf("%w: %s", ErrExists, n)
			}
		}
		idx.put(p, nil)
	}
	return idx, nil
}

// PasswordKeys derives the keys a principal with the given canonical name
// gets from password, one per enctype, at kvno, exactly as Create and
// SetPassword would (same salt, same string-to-key). It does not apply the
// password policy. Tests of the KDC use it to build principals whose
// password a client knows.
func PasswordKeys(name, password string, etypes []int32, kvno uint32) ([]Key, error) {
	comps, realm, err := ParseName(name, "")
	if err != nil {
		return nil, err
	}
	if err := validateEncTypes(etypes); err != nil {
		return nil, err
	}
	pks, err := passwordKeys(password, comps, realm, etypes)
	if err != nil {
		return nil, err
	}
	keys := make([]Key, 0, len(pks))
	for _, k := range pks {
		keys = append(keys, Key{EType: k.etype, KVNO: kvno, Salt: k.salt, Value: k.value})
	}
	return keys, nil
}
