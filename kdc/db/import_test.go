package db

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"
)

func importKey(etype int32, kvno uint32, salt string, b byte) Key {
	return Key{EType: etype, KVNO: kvno, Salt: salt, Value: bytes.Repeat([]byte{b}, mustKeyBytes(etype))}
}

// An import keeps keys with their kvnos and salts, the previous kvno,
// flags, lifetimes, expirations and policies, through a snapshot too.
func TestImportCarriesEverything(t *testing.T) {
	d := openTestDB(t, t.TempDir())
	ctx := testCtx(t)
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	pwexp := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	req := ImportRequest{
		Policies: []PasswordPolicy{{Name: "strong", MinLength: 10, MinClasses: 2, History: 3, MaxLife: 90 * 24 * time.Hour}},
		Principals: []ImportPrincipal{{
			Name:             "erin",
			Keys:             []Key{importKey(18, 5, "erin", 1), importKey(17, 5, testRealm, 2)},
			PreviousKeys:     []Key{importKey(18, 4, "old", 3)},
			Attributes:       Attributes{RequiresPreauth: true, DisallowForwardable: true},
			MaxLife:          2 * time.Hour,
			MaxRenewableLife: 72 * time.Hour,
			Expires:          exp,
			PasswordExpires:  pwexp,
			Policy:           "strong",
		}},
	}
	res, err := d.Import(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Created, []string{"erin@" + testRealm}) || res.Policies != 1 {
		t.Fatalf("result %+v", res)
	}
	check := func(p *Principal) {
		t.Helper()
		if p.KVNO() != 5 || len(p.Keys) != 2 || p.Keys[0].Salt != "erin" || p.Keys[1].Salt != testRealm ||
			!bytes.Equal(p.Keys[0].Value, req.Principals[0].Keys[0].Value) {
			t.Errorf("keys %+v", p.Keys)
		}
		if k, ok := p.KeyForVersion(18, 4); !ok || k.Salt != "old" || k.Value[0] != 3 {
			t.Errorf("previous key %+v, %v", k, ok)
		}
		if p.Attributes != req.Principals[0].Attributes || p.MaxLife != 2*time.Hour || p.MaxRenewableLife != 72*time.Hour ||
			!p.Expires.Equal(exp) || !p.PasswordExpires.Equal(pwexp) || p.Policy != "strong" {
			t.Errorf("principal %+v", p)
		}
	}
	p, err := d.Get("erin")
	if err != nil {
		t.Fatal(err)
	}
	check(p)
	if pols := d.Policies(); len(pols) != 1 || pols[0] != req.Policies[0] {
		t.Errorf("policies %+v", pols)
	}

	// Through a snapshot (what a joining node and a backup get).
	var buf bytes.Buffer
	if err := d.Backup(&buf); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, d.mk)
	if err := h.f.Restore(nopCloser{&buf}); err != nil {
		t.Fatal(err)
	}
	p2, ok := h.f.index.Lookup("erin@" + testRealm)
	if !ok {
		t.Fatal("not in restored index")
	}
	check(p2)
	if pols := sortedPolicies(h.f.st.policies); len(pols) != 1 || pols[0] != req.Policies[0] {
		t.Errorf("restored policies %+v", pols)
	}
}

type nopCloser struct{ *bytes.Buffer }

func (nopCloser) Close() error { return nil }

// One existing name refuses the whole run: nothing is written. A dry run
// writes nothing either. Overwrite replaces.
func TestImportAllOrNothing(t *testing.T) {
	d := openTestDB(t, t.TempDir())
	ctx := testCtx(t)
	if _, err := d.Create(ctx, CreateRequest{Name: "bob", RandomKey: true}); err != nil {
		t.Fatal(err)
	}
	rev := d.fsm.revision()
	req := ImportRequest{Principals: []ImportPrincipal{
		{Name: "carol", Keys: []Key{importKey(18, 1, "x", 1)}},
		{Name: "bob", Keys: []Key{importKey(18, 7, "y", 2)}},
	}}
	if _, err := d.Import(ctx, req); !errors.Is(err, ErrExists) {
		t.Fatalf("import over an existing name: %v, want ErrExists", err)
	}
	if _, err := d.Get("carol"); !errors.Is(err, ErrNotFound) || d.fsm.revision() != rev {
		t.Fatalf("a refused import wrote something: carol %v, revision %d -> %d", err, rev, d.fsm.revision())
	}
	req.Overwrite, req.DryRun = true, true
	res, err := d.Import(ctx, req)
	if err != nil || !slices.Equal(res.Created, []string{"carol@" + testRealm}) || !slices.Equal(res.Replaced, []string{"bob@" + testRealm}) {
		t.Fatalf("dry run: %+v, %v", res, err)
	}
	if _, err := d.Get("carol"); !errors.Is(err, ErrNotFound) {
		t.Fatal("dry run wrote")
	}
	req.DryRun = false
	if _, err := d.Import(ctx, req); err != nil {
		t.Fatal(err)
	}
	if p, err := d.Get("bob"); err != nil || p.KVNO() != 7 || p.Keys[0].Salt != "y" {
		t.Fatalf("bob after overwrite: %+v, %v", p, err)
	}
}

// The FSM itself refuses a whole import command when any record is bad,
// whoever proposed it: the state is unchanged.
func TestFSMImportAtomic(t *testing.T) {
	h := newHarness(t, testMK(t))
	h.mustApply(h.create(realmTGS, 1))
	before := h.state()
	good := &record{Name: alice, KVNO: 1, Keys: h.keys(alice, 1)}
	for _, bad := range []*record{
		{Name: "x@" + testRealm, KVNO: 1, Keys: h.keys("x@"+testRealm, 1), Policy: "missing"},
		{Name: "y@" + testRealm, KVNO: 2, Keys: h.keys("y@"+testRealm, 1)}, // sealed for another kvno
		{Name: realmTGS, KVNO: 3, Keys: h.keys(realmTGS, 3)},               // exists, no overwrite
		{Name: "z@" + testRealm, KVNO: 1, Keys: h.keys("z@"+testRealm, 1), Aliases: []string{"w@" + testRealm}},
		{Name: alice, KVNO: 1, Keys: h.keys(alice, 1)}, // twice in one run
	} {
		res := h.apply(&command{Op: opImport, Name: "run", Import: &importData{Principals: []*record{good, bad}}})
		if res.Err == nil {
			t.Fatalf("import with bad record %s accepted", bad.Name)
		}
		if h.state() != before {
			t.Fatalf("refused import (%v) changed the state", res.Err)
		}
	}
}

// The realm's krbtgt is replaced only with Overwrite (it is what keeps the
// old KDC's TGTs valid); other protected principals never are.
func TestImportProtected(t *testing.T) {
	h := newHarness(t, testMK(t))
	health := HealthPrincipal + "@" + testRealm
	h.mustApply(h.create(realmTGS, 1))
	h.mustApply(h.create(health, 1))
	imp := func(name string, kvno uint32, overwrite bool) error {
		return h.apply(&command{Op: opImport, Name: "run", Import: &importData{Overwrite: overwrite,
			Principals: []*record{{Name: name, KVNO: kvno, Keys: h.keys(name, kvno)}}}}).Err
	}
	if err := imp(realmTGS, 1, false); !errors.Is(err, ErrExists) {
		t.Fatalf("krbtgt without overwrite: %v", err)
	}
	if err := imp(health, 4, true); !errors.Is(err, ErrProtected) {
		t.Fatalf("health with overwrite: %v", err)
	}
	if err := imp(realmTGS, 1, true); err != nil {
		t.Fatalf("krbtgt with overwrite: %v", err)
	}
	assertTGSInvariant(t, h.f)
}

// FuzzFSMImport applies arbitrary import commands: each is applied whole
// (every principal it names is then stored with its kvno) or refused
// with the state unchanged, and the realm's krbtgt invariant holds.
func FuzzFSMImport(f *testing.F) {
	mk, err := CreateMasterKey(f.TempDir() + "/master.key")
	if err != nil {
		f.Fatal(err)
	}
	seed := newHarness(f, mk)
	f.Add(seed.encode(&command{Op: opImport, Name: "run", Import: &importData{Overwrite: true,
		Policies:   []PasswordPolicy{{Name: "p", MinLength: 8}},
		Principals: []*record{{Name: realmTGS, KVNO: 4, Keys: seed.keys(realmTGS, 4)}, {Name: "bob@" + testRealm, KVNO: 2, Keys: seed.keys("bob@"+testRealm, 2), Policy: "p"}}}}))
	f.Add(seed.encode(&command{Op: opImport, Name: "run", Import: &importData{
		Principals: []*record{{Name: alice, KVNO: 1, Keys: seed.keys(alice, 1), PrevKVNO: 1}}}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		h := newHarness(t, mk)
		h.mustApply(h.create(realmTGS, 1))
		before := h.state()
		res := h.applyBytes(data)
		c, derr := decodeCommand(data)
		if res.Err != nil || derr != nil || c.Op != opImport {
			if c != nil && c.Op == opImport && h.state() != before {
				t.Fatalf("refused import changed the state: %v", res.Err)
			}
		} else {
			for _, r := range c.Import.Principals {
				p, ok := h.f.index.Lookup(r.Name)
				if !ok || p.KVNO() != r.KVNO {
					t.Fatalf("accepted import lacks %s at kvno %d", r.Name, r.KVNO)
				}
			}
		}
		assertTGSInvariant(t, h.f)
	})
}

func mustKeyBytes(etype int32) int {
	n, err := keyBytes(etype)
	if err != nil {
		panic(err)
	}
	return n
}
