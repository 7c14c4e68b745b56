package mitdump

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/kdcha/kdcha/kdc/db"
)

// decodeModPrinc reads a KRB5_TL_MOD_PRINC value as MIT's
// krb5_dbe_lookup_mod_princ_data does: at least the time and a NUL, the
// name NUL-terminated.
func decodeModPrinc(b []byte) (uint32, string, error) {
	if len(b) < 5 || b[len(b)-1] != 0 || bytes.IndexByte(b[4:len(b)-1], 0) >= 0 {
		return 0, "", errors.New("truncated record")
	}
	return binary.LittleEndian.Uint32(b), string(b[4 : len(b)-1]), nil
}

func tlOf(p *Principal, typ int16) []byte {
	for _, tl := range p.TLData {
		if tl.Type == typ {
			return tl.Data
		}
	}
	return nil
}

// TestTLDataCodec: the last password change and modification data encode
// byte for byte as MIT's kdb5_util wrote them in the golden dump, and
// decode back.
func TestTLDataCodec(t *testing.T) {
	_, d, _ := readGolden(t)
	var alice *Principal
	for i := range d.Principals {
		if d.Principals[i].Name == "alice@MIT.TEST" {
			alice = &d.Principals[i]
		}
	}
	if alice == nil {
		t.Fatal("alice not in the golden dump")
	}
	const stamp = 0x6b13d6c8 // c8d6136b, little-endian, in the dump
	if got := alice.LastPasswordChange(); got != stamp {
		t.Fatalf("last password change %#x, want %#x", got, stamp)
	}
	if got := LastPasswordChangeTL(stamp); got.Type != 1 || !bytes.Equal(got.Data, tlOf(alice, TLLastPwdChange)) {
		t.Fatalf("encoded %x, MIT wrote %x", got.Data, tlOf(alice, TLLastPwdChange))
	}
	if got := ModPrincTL(stamp, "root/admin@MIT.TEST"); got.Type != 2 || !bytes.Equal(got.Data, tlOf(alice, TLModPrinc)) {
		t.Fatalf("encoded %x, MIT wrote %x", got.Data, tlOf(alice, TLModPrinc))
	}
	if at, by, err := decodeModPrinc(ModPrincTL(0xfffffffe, "kdcha@R").Data); err != nil || at != 0xfffffffe || by != "kdcha@R" {
		t.Fatalf("mod princ round trip: %#x %q %v", at, by, err)
	}
	// Like MIT, a value of another length, or none, is an unknown time.
	for _, tl := range [][]TLData{nil, {{Type: TLLastPwdChange, Data: []byte{1, 2, 3}}}, {{Type: TLLastPwdChange}}} {
		if got := (&Principal{TLData: tl}).LastPasswordChange(); got != 0 {
			t.Errorf("last password change of %v = %d, want 0", tl, got)
		}
	}
}

// TestExportWritesHistory: an export carries each principal's last
// password change (when known) and its modification time and author, and
// an import reads the password change back.
func TestExportWritesHistory(t *testing.T) {
	_, _, mk := readGolden(t)
	changed := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	modified := changed.Add(time.Hour)
	key := db.Key{EType: 18, KVNO: 3, Salt: "MIT.TESTu", Value: bytes.Repeat([]byte{7}, 32)}
	ps := []*db.Principal{
		{Name: "u@MIT.TEST", Keys: []db.Key{key}, PasswordChanged: changed, Modified: modified},
		{Name: "svc@MIT.TEST", Keys: []db.Key{key}, Modified: modified},
	}
	out, err := FromExport(ps, nil, mk, "MIT.TEST")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, out); err != nil {
		t.Fatal(err)
	}
	d, err := Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	u, svc := &d.Principals[1], &d.Principals[2]
	if got := u.LastPasswordChange(); got != uint32(changed.Unix()) {
		t.Errorf("u: last password change %d, want %d", got, changed.Unix())
	}
	if tlOf(svc, TLLastPwdChange) != nil {
		t.Errorf("svc: a password change time was written for random keys")
	}
	for _, p := range []*Principal{u, svc} {
		at, by, err := decodeModPrinc(tlOf(p, TLModPrinc))
		if err != nil || at != uint32(modified.Unix()) || by != "kdcha@MIT.TEST" {
			t.Errorf("%s: mod princ %d %q %v", p.Name, at, by, err)
		}
	}
	req, _, err := ToImport(d, mk, "MIT.TEST")
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(req.Principals, func(p db.ImportPrincipal) bool { return p.Name == "u@MIT.TEST" })
	if i < 0 || !req.Principals[i].PasswordChanged.Equal(changed) {
		t.Fatalf("imported password change: %+v", req.Principals)
	}
}

// TestExportUnknownModificationTime: a principal without a modification
// time is written with time 0 (unknown), not year 1 wrapped to 32 bits.
func TestExportUnknownModificationTime(t *testing.T) {
	_, _, mk := readGolden(t)
	key := db.Key{EType: 18, KVNO: 1, Salt: "MIT.TESTu", Value: bytes.Repeat([]byte{7}, 32)}
	out, err := FromExport([]*db.Principal{{Name: "u@MIT.TEST", Keys: []db.Key{key}}}, nil, mk, "MIT.TEST")
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(out.Principals, func(p Principal) bool { return p.Name == "u@MIT.TEST" })
	if at, _, err := decodeModPrinc(tlOf(&out.Principals[i], TLModPrinc)); err != nil || at != 0 {
		t.Errorf("mod princ time %d (%v), want 0 for an unknown modification time", at, err)
	}
}
