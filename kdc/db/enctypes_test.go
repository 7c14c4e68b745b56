package db

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

func keyETypes(p *Principal) []int32 {
	var out []int32
	for _, k := range p.Keys {
		out = append(out, k.EType)
	}
	return out
}

// TestPrincipalEncTypesSurvivePasswordChange: a principal made with its
// own enctype set keeps it through password changes (admin and self
// service), rekeys, a snapshot restore and a reopen; modify replaces the
// set for the next change; principals without one get the realm's.
func TestPrincipalEncTypesSurvivePasswordChange(t *testing.T) {
	ctx := testCtx(t)
	dir := t.TempDir()
	d := openTestDB(t, dir)
	sha2 := []int32{20, 19}
	p, err := d.Create(ctx, CreateRequest{Name: "alice", Password: ptr("Zebra-Crossing-1"), EncTypes: sha2})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keyETypes(p), sha2) || !slices.Equal(p.EncTypes, sha2) {
		t.Fatalf("created with keys %v, set %v; want %v", keyETypes(p), p.EncTypes, sha2)
	}
	check := func(what string, p *Principal, err error, want []int32, kvno uint32) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if !slices.Equal(keyETypes(p), want) || p.KVNO() != kvno {
			t.Fatalf("%s: keys %v at kvno %d, want %v at %d", what, keyETypes(p), p.KVNO(), want, kvno)
		}
	}
	p, err = d.SetPassword(ctx, "alice", "Yellow-Submarine-2")
	check("set password", p, err, sha2, 2)
	p, err = d.ChangePassword(ctx, "alice", "Purple-Rain-Falls-3")
	check("change password (kpasswd)", p, err, sha2, 3)
	p, err = d.Rekey(ctx, "alice")
	check("rekey", p, err, sha2, 4)

	// Modify changes the set, not the keys; the next change uses it.
	p, err = d.Modify(ctx, "alice", Modification{EncTypes: &[]int32{18}})
	check("modify", p, err, sha2, 4)
	p, err = d.SetPassword(ctx, "alice", "Green-Day-Sunday-4")
	check("set password after modify", p, err, []int32{18}, 5)
	// An empty set goes back to the realm's.
	if _, err := d.Modify(ctx, "alice", Modification{EncTypes: &[]int32{}}); err != nil {
		t.Fatal(err)
	}
	p, err = d.Rekey(ctx, "alice")
	check("rekey with the realm set", p, err, DefaultEncTypes, 6)
	if p.EncTypes != nil {
		t.Fatalf("set after clearing: %v", p.EncTypes)
	}

	// The set is replicated state: it survives a restart (log replay or
	// snapshot).
	if _, err := d.Modify(ctx, "alice", Modification{EncTypes: &[]int32{19}}); err != nil {
		t.Fatal(err)
	}
	d.Close()
	d = openTestDB(t, dir)
	p, err = d.Rekey(ctx, "alice")
	check("rekey after reopen", p, err, []int32{19}, 7)

	// Refusals: weak, unknown, duplicate.
	for _, bad := range [][]int32{{23}, {16}, {18, 18}} {
		if _, err := d.Create(ctx, CreateRequest{Name: "bob", RandomKey: true, EncTypes: bad}); !errors.Is(err, ErrUnsupportedEncType) {
			t.Fatalf("create with %v: %v", bad, err)
		}
		if _, err := d.Modify(ctx, "alice", Modification{EncTypes: &bad}); !errors.Is(err, ErrUnsupportedEncType) {
			t.Fatalf("modify to %v: %v", bad, err)
		}
	}
}

// TestFSMEncTypesInSnapshot: the set is carried by snapshots, and a
// record written before the field existed means the realm's set.
func TestFSMEncTypesInSnapshot(t *testing.T) {
	mk := testMasterKey(t)
	h := newHarness(t, mk)
	c := h.create("svc@"+testRealm, 1)
	c.EncTypes = &[]int32{18, 20}
	h.mustApply(c)
	h.mustApply(h.create("old@"+testRealm, 1))
	snap := h.snapshot()
	if strings.Count(string(snap), `"enctypes"`) != 1 {
		t.Fatalf("snapshot should hold one enctype set (none for a record without one):\n%s", snap)
	}
	h2 := newHarness(t, mk)
	if err := h2.f.Restore(io.NopCloser(bytes.NewReader(snap))); err != nil {
		t.Fatal(err)
	}
	p, ok := h2.f.index.Lookup("svc@" + testRealm)
	if !ok || !slices.Equal(p.EncTypes, []int32{18, 20}) {
		t.Fatalf("restored set %v", p)
	}
	if p, _ := h2.f.index.Lookup("old@" + testRealm); p.EncTypes != nil {
		t.Fatalf("record without a set restored with %v", p.EncTypes)
	}
}

func TestParseEncTypes(t *testing.T) {
	tests := []struct {
		in   []string
		want []int32
		err  string
	}{
		{[]string{"aes256-cts-hmac-sha384-192,aes128-cts-hmac-sha256-128"}, []int32{20, 19}, ""},
		{[]string{"aes256-cts", "AES128-SHA1"}, []int32{18, 17}, ""},
		{[]string{"aes256-sha2 aes128-sha2"}, []int32{20, 19}, ""},
		{[]string{"18", "aes256-sha1"}, nil, "listed twice"},
		{[]string{"des3-cbc-sha1"}, nil, "DES, 3DES and RC4 are broken"},
		{[]string{"arcfour-hmac"}, nil, "DES, 3DES and RC4 are broken"},
		{[]string{"rc4-hmac"}, nil, "DES, 3DES and RC4 are broken"},
		{[]string{"des-cbc-crc"}, nil, "DES, 3DES and RC4 are broken"},
		{[]string{"23"}, nil, "DES, 3DES and RC4 are broken"},
		{[]string{"camellia256-cts-cmac"}, nil, "use aes256-cts-hmac-sha1-96"},
		{[]string{""}, nil, "empty enctype list"},
	}
	for _, tt := range tests {
		got, err := ParseEncTypes(tt.in)
		if tt.err == "" {
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("ParseEncTypes(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
			continue
		}
		if !errors.Is(err, ErrUnsupportedEncType) || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("ParseEncTypes(%q) error %v, want one mentioning %q", tt.in, err, tt.err)
		}
	}
	for id := range supportedEncTypes {
		if back, err := EncTypeByName(EncTypeName(id)); err != nil || back != id {
			t.Errorf("name of %d does not read back: %v %v", id, back, err)
		}
		if _, err := keyBytes(id); err != nil {
			t.Errorf("no key size for %d: %v", id, err)
		}
	}
}

// TestModifyRefusesBadEncTypesBeforeTheLog: a bad enctype set is refused
// by Modify itself, as by Create: nothing is proposed, so the Raft log
// does not grow.
func TestModifyRefusesBadEncTypesBeforeTheLog(t *testing.T) {
	ctx := testCtx(t)
	d := openTestDB(t, t.TempDir())
	if _, err := d.Create(ctx, CreateRequest{Name: "alice", Password: ptr("Zebra-Crossing-1")}); err != nil {
		t.Fatal(err)
	}
	before := d.node.r.LastIndex()
	for _, bad := range [][]int32{{23}, {18, 18}} {
		if _, err := d.Modify(ctx, "alice", Modification{EncTypes: &bad}); !errors.Is(err, ErrUnsupportedEncType) {
			t.Errorf("modify with %v: %v, want ErrUnsupportedEncType", bad, err)
		}
	}
	if after := d.node.r.LastIndex(); after != before {
		t.Errorf("raft log at %d after refused modifications, want %d: something reached the log", after, before)
	}
}
