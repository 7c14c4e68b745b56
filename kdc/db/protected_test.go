package db

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

var (
	realmTGS   = RealmTGS(testRealm)
	crossTGS   = "krbtgt/OTHER.TEST@" + testRealm
	healthName = HealthPrincipal + "@" + testRealm
)

// TestKrbtgtCannotBeRepointed reproduces the golden-ticket attack: delete
// krbtgt/R@R, then make it an alias of alice, so the KDC decrypts TGTs with
// alice's password key. Each step is a raw log entry, as a forwarded write
// or a restored log would carry it: the FSM itself must refuse.
func TestKrbtgtCannotBeRepointed(t *testing.T) {
	h := newHarness(t, testMK(t))
	h.mustApply(h.create(realmTGS, 1))
	h.mustApply(h.create(alice, 1))
	before := h.state()

	for _, c := range []*command{
		{Op: opDelete, Name: realmTGS},
		{Op: opDelete, Name: realmTGS, Force: true},
		{Op: opModify, Name: alice, Aliases: &[]string{realmTGS}},
		h.create("mallory@"+testRealm, 1, realmTGS),
	} {
		if res := h.apply(c); !errors.Is(res.Err, ErrProtected) {
			t.Errorf("%s %s (aliases %v, force %v): err = %v, want ErrProtected", c.Op, c.Name, c.Aliases, c.Force, res.Err)
		}
	}
	if h.state() != before {
		t.Fatal("a refused command changed the state")
	}
	assertTGSInvariant(t, h.f)
}

func TestProtectedPrincipalsNeedForce(t *testing.T) {
	for _, name := range []string{crossTGS, healthName, "kadmin/changepw@" + testRealm, "kadmin/admin@" + testRealm} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, testMK(t))
			h.mustApply(h.create(name, 1))
			h.mustApply(h.create(alice, 1))
			res := h.apply(&command{Op: opDelete, Name: name})
			if !errors.Is(res.Err, ErrProtected) || !strings.Contains(res.Err.Error(), "--force") {
				t.Fatalf("delete without force: %v", res.Err)
			}
			h.mustApply(&command{Op: opDelete, Name: name, Force: true})
			// Gone, but its name still cannot become someone's alias.
			if res := h.apply(&command{Op: opModify, Name: alice, Aliases: &[]string{name}}); !errors.Is(res.Err, ErrProtected) {
				t.Fatalf("alias to a deleted protected name: %v", res.Err)
			}
		})
	}
	// Ordinary principals need no force, and may have aliases.
	h := newHarness(t, testMK(t))
	h.mustApply(h.create(alice, 1, "al@"+testRealm))
	h.mustApply(&command{Op: opDelete, Name: alice})
}

// TestRestoreRefusesProtectedAlias: a snapshot (from a peer or a backup) in
// which a protected name is an alias is a state no command could produce;
// it is refused rather than served.
func TestRestoreRefusesProtectedAlias(t *testing.T) {
	mk := testMK(t)
	h := newHarness(t, mk)
	h.mustApply(h.create(realmTGS, 1))
	h.mustApply(h.create(alice, 1, "al@"+testRealm))
	snap := bytes.Replace(h.snapshot(), []byte(`"al@`+testRealm+`"`), []byte(`"`+crossTGS+`"`), 1)
	r := newHarness(t, mk)
	if err := r.f.Restore(io.NopCloser(bytes.NewReader(snap))); !errors.Is(err, ErrProtected) {
		t.Fatalf("restore with a protected alias: %v", err)
	}
	if _, err := readBackup(bytes.NewReader(snap), newHarness(t, mk).f); !errors.Is(err, ErrProtected) {
		t.Fatalf("backup with a protected alias: %v", err)
	}
}

func TestBackupWithoutKrbtgtRefused(t *testing.T) {
	mk := testMK(t)
	h := newHarness(t, mk)
	h.mustApply(h.create(alice, 1))
	if _, err := readBackup(bytes.NewReader(h.snapshot()), newHarness(t, mk).f); err == nil || !strings.Contains(err.Error(), realmTGS) {
		t.Fatalf("backup without %s: %v", realmTGS, err)
	}
}

func testMK(t *testing.T) *MasterKey {
	t.Helper()
	mk, err := CreateMasterKey(t.TempDir() + "/master.key")
	if err != nil {
		t.Fatal(err)
	}
	return mk
}

// assertTGSInvariant checks what TGT security rests on: the realm's krbtgt
// exists under its own name (not as an alias of anyone), and the keys the
// KDC reads for it are the ones sealed for that name.
func assertTGSInvariant(t *testing.T, f *fsm) {
	t.Helper()
	f.mu.Lock()
	rec, ok := f.st.records[realmTGS]
	owner, aliased := f.st.aliases[realmTGS]
	f.mu.Unlock()
	if !ok {
		t.Fatalf("%s does not exist", realmTGS)
	}
	if aliased {
		t.Fatalf("%s is an alias of %s", realmTGS, owner)
	}
	p, ok := f.index.Lookup(realmTGS)
	if !ok || p.Name != realmTGS {
		t.Fatalf("KDC lookup of %s = %v, %v", realmTGS, p, ok)
	}
	want, err := f.unseal(rec)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Keys) != len(want.Keys) || !slices.EqualFunc(p.Keys, want.Keys, func(a, b Key) bool {
		return a.EType == b.EType && a.KVNO == b.KVNO && bytes.Equal(a.Value, b.Value)
	}) {
		t.Fatalf("KDC reads keys for %s that are not its own", realmTGS)
	}
}

// FuzzFSMKrbtgtInvariant applies a sequence of arbitrary log entries (one
// per line) after the realm's krbtgt exists: whatever is accepted, the
// realm's krbtgt still exists, is never an alias, and only its own keys
// decrypt TGTs.
func FuzzFSMKrbtgtInvariant(f *testing.F) {
	mk, err := CreateMasterKey(f.TempDir() + "/master.key")
	if err != nil {
		f.Fatal(err)
	}
	seed := newHarness(f, mk)
	lines := func(cs ...*command) []byte {
		var b [][]byte
		for _, c := range cs {
			b = append(b, seed.encode(c))
		}
		return bytes.Join(b, []byte("\n"))
	}
	f.Add(lines(&command{Op: opDelete, Name: realmTGS}, &command{Op: opModify, Name: alice, Aliases: &[]string{realmTGS}}))
	f.Add(lines(&command{Op: opDelete, Name: realmTGS, Force: true}, seed.create("mallory@"+testRealm, 1, realmTGS)))
	f.Add(lines(&command{Op: opModify, Name: realmTGS, Aliases: &[]string{"x@" + testRealm}}, &command{Op: opDelete, Name: alice}))
	f.Add(lines(seed.setKeys(realmTGS, 2), &command{Op: opSetLock, Name: realmTGS, Locked: ptr(true)}))
	f.Fuzz(func(t *testing.T, data []byte) {
		h := newHarness(t, mk)
		h.mustApply(h.create(realmTGS, 1))
		h.mustApply(h.create(alice, 1))
		for _, line := range bytes.Split(data, []byte("\n")) {
			h.applyBytes(line)
			assertTGSInvariant(t, h.f)
		}
	})
}
