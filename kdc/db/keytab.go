package db

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"time"
)

// MIT keytab file format version 0x0502: big-endian throughout.
// https://web.mit.edu/kerberos/krb5-devel/doc/formats/keytab_file_format.html
const (
	keytabVersion = 0x0502
	// ntPrincipal is KRB5_NT_PRINCIPAL, which MIT's ktadd writes for every
	// entry whatever the name's shape.
	ntPrincipal = 1
)

// MarshalKeytab encodes the keys held in ps' Keys as an MIT keytab. Each
// principal is written under its canonical name and under each alias (same
// keys, same kvno), because acceptors such as Java's look the ticket's
// server name up in the keytab and a ticket may name an alias. ts is the
// entries' timestamp.
func MarshalKeytab(ps []*Principal, ts time.Time) ([]byte, error) {
	out := binary.BigEndian.AppendUint16(nil, keytabVersion)
	for _, p := range ps {
		for _, name := range append([]string{p.Name}, p.Aliases...) {
			comps, realm, err := ParseName(name, "")
			if err != nil {
				return nil, fmt.Errorf("keytab: %w", err)
			}
			for _, k := range p.Keys {
				e, err := keytabEntry(comps, realm, ts, k)
				if err != nil {
					return nil, fmt.Errorf("keytab entry for %s: %w", name, err)
				}
				out = binary.BigEndian.AppendUint32(out, uint32(len(e)))
				out = append(out, e...)
			}
		}
	}
	return out, nil
}

func keytabEntry(comps []string, realm string, ts time.Time, k Key) ([]byte, error) {
	var e []byte
	e = binary.BigEndian.AppendUint16(e, uint16(len(comps)))
	var err error
	if e, err = appendCounted(e, realm); err != nil {
		return nil, err
	}
	for _, c := range comps {
		if e, err = appendCounted(e, c); err != nil {
			return nil, err
		}
	}
	e = binary.BigEndian.AppendUint32(e, ntPrincipal)
	e = binary.BigEndian.AppendUint32(e, uint32(ts.Unix()))
	// The 8-bit kvno wraps; readers use the trailing 32-bit one when present.
	e = append(e, byte(k.KVNO))
	e = binary.BigEndian.AppendUint16(e, uint16(k.EType))
	if e, err = appendCountedBytes(e, k.Value); err != nil {
		return nil, err
	}
	return binary.BigEndian.AppendUint32(e, k.KVNO), nil
}

func appendCounted(b []byte, s string) ([]byte, error) {
	return appendCountedBytes(b, []byte(s))
}

func appendCountedBytes(b, v []byte) ([]byte, error) {
	if len(v) > math.MaxUint16 {
		return nil, fmt.Errorf("field of %d bytes does not fit a keytab", len(v))
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(v)))
	return append(b, v...), nil
}

// KeytabOptions select what an exported keytab holds.
type KeytabOptions struct {
	// EncTypes keeps only keys of these enctypes (nil: all).
	EncTypes []int32
	// KeepOld adds the previous kvno's keys, kept after the last rekey or
	// password change, so a service given the keytab still accepts the
	// tickets clients obtained before the rekey.
	KeepOld bool
}

// Keytab returns an MIT keytab holding the current keys of the named
// principals (names or aliases, realm defaulted), each under its canonical
// name and every alias. It fails, returning nothing, if any name is unknown.
// Unlike MIT's ktadd it does not rekey.
func (d *DB) Keytab(names ...string) ([]byte, error) { return d.KeytabWith(KeytabOptions{}, names...) }

// KeytabWith is Keytab with the keys that opts select; a principal left
// without a key fails it.
func (d *DB) KeytabWith(opts KeytabOptions, names ...string) ([]byte, error) {
	if len(names) == 0 {
		return nil, fmt.Errorf("keytab: %w: no principals named", ErrInvalid)
	}
	for _, et := range opts.EncTypes {
		if !SupportedEncType(et) {
			return nil, fmt.Errorf("keytab: %w: %d", ErrUnsupportedEncType, et)
		}
	}
	var ps []*Principal
	seen := map[string]bool{}
	for _, n := range names {
		p, err := d.Get(n)
		if err != nil {
			return nil, fmt.Errorf("keytab: %w", err)
		}
		if seen[p.Name] {
			continue
		}
		seen[p.Name] = true
		sel := *p
		sel.Keys = nil
		keys := p.Keys
		if opts.KeepOld {
			keys = append(slices.Clone(p.Keys), p.PreviousKeys...)
		}
		for _, k := range keys {
			if opts.EncTypes == nil || slices.Contains(opts.EncTypes, k.EType) {
				sel.Keys = append(sel.Keys, k)
			}
		}
		if len(sel.Keys) == 0 {
			return nil, fmt.Errorf("keytab: %w: %s has no key of enctypes %v", ErrNotFound, p.Name, opts.EncTypes)
		}
		ps = append(ps, &sel)
	}
	b, err := MarshalKeytab(ps, time.Now())
	if err != nil {
		return nil, fmt.Errorf("keytab: %w", err)
	}
	return b, nil
}
