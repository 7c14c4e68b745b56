package db

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Reading MIT keytabs: to append to an existing file without losing its
// entries (as MIT's ktadd does) and to take a service's keys from the
// keytab it already has. Keytabs are files an admin hands over, possibly
// from elsewhere: every length is checked before it is used.

// MaxKeytabBytes bounds a keytab read (a keytab of 10,000 entries is
// under 1 MiB).
const MaxKeytabBytes = 16 << 20

// KeytabEntry is one entry of a keytab.
type KeytabEntry struct {
	// Name is "a/b@REALM".
	Name      string
	Timestamp time.Time
	// Key holds the enctype, the kvno (the 32-bit one when present) and
	// the key; keytabs carry no salt.
	Key Key
	// raw is the entry as stored, without its length prefix.
	raw []byte
}

// errKeytab is wrapped by every parse error.
var errKeytab = errors.New("malformed keytab")

// ParseKeytab reads an MIT keytab (format 0x0502; holes left by deleted
// entries are skipped).
func ParseKeytab(b []byte) ([]KeytabEntry, error) {
	if len(b) > MaxKeytabBytes {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", errKeytab, len(b), MaxKeytabBytes)
	}
	if len(b) < 2 || binary.BigEndian.Uint16(b) != keytabVersion {
		return nil, fmt.Errorf("%w: not an MIT keytab of version 0x0502", errKeytab)
	}
	var out []KeytabEntry
	for off := 2; off < len(b); {
		if len(b)-off < 4 {
			return nil, fmt.Errorf("%w: truncated entry length at byte %d", errKeytab, off)
		}
		n := int64(int32(binary.BigEndian.Uint32(b[off:])))
		off += 4
		size := max(n, -n)
		if size > int64(len(b)-off) {
			return nil, fmt.Errorf("%w: entry of %d bytes at byte %d runs past the end", errKeytab, size, off-4)
		}
		if n > 0 {
			e, err := parseKeytabEntry(b[off : off+int(n)])
			if err != nil {
				return nil, fmt.Errorf("%w: entry at byte %d: %v", errKeytab, off-4, err)
			}
			out = append(out, e)
		}
		off += int(size)
	}
	return out, nil
}

// keytabReader reads the fields of one entry.
type keytabReader struct {
	b   []byte
	err error
}

func (r *keytabReader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n > len(r.b) {
		r.err = errors.New("truncated")
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *keytabReader) u16() int {
	if v := r.take(2); v != nil {
		return int(binary.BigEndian.Uint16(v))
	}
	return 0
}

func (r *keytabReader) u32() uint32 {
	if v := r.take(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

func (r *keytabReader) counted() []byte { return r.take(r.u16()) }

func parseKeytabEntry(raw []byte) (KeytabEntry, error) {
	r := &keytabReader{b: raw}
	ncomp := r.u16()
	if ncomp == 0 || ncomp > MaxNameComponents {
		return KeytabEntry{}, fmt.Errorf("%d name components", ncomp)
	}
	realm := string(r.counted())
	comps := make([]string, 0, ncomp)
	for range ncomp {
		comps = append(comps, string(r.counted()))
	}
	r.u32() // name type
	ts := r.u32()
	kvno8 := r.take(1)
	etype := r.u16()
	key := r.counted()
	if r.err != nil {
		return KeytabEntry{}, r.err
	}
	kvno := uint32(kvno8[0])
	if len(r.b) >= 4 {
		if v := r.u32(); v != 0 {
			kvno = v
		}
	}
	name := strings.Join(comps, "/") + "@" + realm
	if _, _, err := ParseName(name, ""); err != nil {
		return KeytabEntry{}, err
	}
	return KeytabEntry{
		Name:      name,
		Timestamp: time.Unix(int64(ts), 0),
		Key:       Key{EType: int32(etype), KVNO: kvno, Value: slices.Clone(key)},
		raw:       raw,
	}, nil
}

// AppendKeytab returns keytab existing with the entries of add that it
// lacks appended, and how many were. An entry it already has (same name,
// kvno and enctype) is skipped when its key is the same and refused when
// it differs: the file and the database disagree about that key version.
func AppendKeytab(existing, add []byte) ([]byte, int, error) {
	have, err := ParseKeytab(existing)
	if err != nil {
		return nil, 0, fmt.Errorf("existing keytab: %w", err)
	}
	more, err := ParseKeytab(add)
	if err != nil {
		return nil, 0, err
	}
	type id struct {
		name  string
		kvno  uint32
		etype int32
	}
	keys := map[id][]byte{}
	for _, e := range have {
		keys[id{e.Name, e.Key.KVNO, e.Key.EType}] = e.Key.Value
	}
	out := slices.Clone(existing)
	n := 0
	for _, e := range more {
		k := id{e.Name, e.Key.KVNO, e.Key.EType}
		if v, ok := keys[k]; ok {
			if string(v) != string(e.Key.Value) {
				return nil, 0, fmt.Errorf("%w: the keytab has another key for %s kvno %d enctype %d", ErrConflict, e.Name, e.Key.KVNO, e.Key.EType)
			}
			continue
		}
		keys[k] = e.Key.Value
		out = binary.BigEndian.AppendUint32(out, uint32(len(e.raw)))
		out = append(out, e.raw...)
		n++
	}
	return out, n, nil
}

// KeysFromKeytab returns the keys a keytab holds for the principal name
// ("a/b@REALM"): the newest kvno's as keys, the one before as previous
// keys, leaving out enctypes the database does not hold (which it lists),
// as ImportPrincipal takes them. The keytab carries no salts: the keys get
// the default salt, which only matters to clients deriving a key from a
// password, not to a service using its keytab.
func KeysFromKeytab(entries []KeytabEntry, name string) (keys, previous []Key, skipped []int32, err error) {
	comps, realm, err := ParseName(name, "")
	if err != nil {
		return nil, nil, nil, err
	}
	salt := DefaultSalt(comps, realm)
	byKVNO := map[uint32][]Key{}
	for _, e := range entries {
		if e.Name != name {
			continue
		}
		if !SupportedEncType(e.Key.EType) {
			if !slices.Contains(skipped, e.Key.EType) {
				skipped = append(skipped, e.Key.EType)
			}
			continue
		}
		k := e.Key
		k.Salt = salt
		if slices.ContainsFunc(byKVNO[k.KVNO], func(o Key) bool { return o.EType == k.EType }) {
			return nil, nil, nil, fmt.Errorf("%w: the keytab holds two kvno %d enctype %d keys for %s", ErrInvalid, k.KVNO, k.EType, name)
		}
		byKVNO[k.KVNO] = append(byKVNO[k.KVNO], k)
	}
	if len(byKVNO) == 0 {
		return nil, nil, skipped, fmt.Errorf("%w: the keytab holds no AES key of %s", ErrNotFound, name)
	}
	kvnos := slices.Sorted(maps.Keys(byKVNO))
	keys = byKVNO[kvnos[len(kvnos)-1]]
	if len(kvnos) > 1 {
		previous = byKVNO[kvnos[len(kvnos)-2]]
	}
	return keys, previous, skipped, nil
}
