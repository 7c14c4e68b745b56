package db

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"testing"
	"time"
)

func settingsOf(t *testing.T, f *fsm) (RealmSettings, bool) {
	t.Helper()
	s := f.settings.Load()
	if s == nil {
		return RealmSettings{}, false
	}
	return *s, true
}

// TestFSMRealmSettings: the first seed wins, later seeds change nothing,
// a change merges into what is stored, invalid values are refused without
// a change, and the settings survive a snapshot.
func TestFSMRealmSettings(t *testing.T) {
	mk := testMasterKey(t)
	h := newHarness(t, mk)
	if _, ok := settingsOf(t, h.f); ok {
		t.Fatal("fresh realm has settings")
	}
	first := RealmSettings{MaxLife: 10 * time.Hour, MaxRenewableLife: 24 * time.Hour, LockoutMaxFailures: 5, LockoutWindow: time.Minute}
	second := RealmSettings{MaxLife: 8 * time.Hour, MaxRenewableLife: time.Hour}
	seed := func(s RealmSettings) *command {
		return &command{Op: opSetRealmSettings, RealmSettings: &realmSettingsCmd{Seed: true, Settings: &s}}
	}
	h.mustApply(seed(first))
	if res := h.apply(seed(second)); !errors.Is(res.Err, ErrExists) {
		t.Fatalf("second seed: %v, want ErrExists", res.Err)
	}
	if got, _ := settingsOf(t, h.f); got != first {
		t.Fatalf("after a second seed: %+v, want the first %+v", got, first)
	}

	change := func(c RealmSettingsChange) *command {
		return &command{Op: opSetRealmSettings, RealmSettings: &realmSettingsCmd{Change: &c}}
	}
	h.mustApply(change(RealmSettingsChange{MaxLife: ptr(12 * time.Hour), LockoutDuration: ptr(time.Hour)}))
	want := first
	want.MaxLife, want.LockoutDuration = 12*time.Hour, time.Hour
	if got, _ := settingsOf(t, h.f); got != want {
		t.Fatalf("after a change: %+v, want %+v", got, want)
	}

	before := h.state()
	for name, c := range map[string]*command{
		"zero max life":         change(RealmSettingsChange{MaxLife: ptr(time.Duration(0))}),
		"negative renewable":    change(RealmSettingsChange{MaxRenewableLife: ptr(-time.Second)}),
		"negative failures":     change(RealmSettingsChange{LockoutMaxFailures: ptr(-1)}),
		"too many failures":     change(RealmSettingsChange{LockoutMaxFailures: ptr(maxLockoutFailures + 1)}),
		"negative window":       change(RealmSettingsChange{LockoutWindow: ptr(-time.Second)}),
		"negative duration":     change(RealmSettingsChange{LockoutDuration: ptr(-time.Second)}),
		"no payload":            {Op: opSetRealmSettings},
		"seed without values":   {Op: opSetRealmSettings, RealmSettings: &realmSettingsCmd{Seed: true}},
		"settings and change":   {Op: opSetRealmSettings, RealmSettings: &realmSettingsCmd{Seed: true, Settings: &first, Change: &RealmSettingsChange{}}},
		"settings without seed": {Op: opSetRealmSettings, RealmSettings: &realmSettingsCmd{Settings: &first}},
	} {
		if res := h.apply(c); !errors.Is(res.Err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, res.Err)
		}
	}
	if h.state() != before {
		t.Fatal("a rejected command changed the state")
	}
	// The limit itself is accepted.
	h.mustApply(change(RealmSettingsChange{LockoutMaxFailures: ptr(maxLockoutFailures)}))
	want.LockoutMaxFailures = maxLockoutFailures

	r := newHarness(t, mk)
	if err := r.f.Restore(io.NopCloser(bytes.NewReader(h.snapshot()))); err != nil {
		t.Fatal(err)
	}
	if got, ok := settingsOf(t, r.f); !ok || got != want {
		t.Fatalf("after restore: %+v (%v), want %+v", got, ok, want)
	}
}

// TestFSMRealmSettingsChangeBeforeSeed: a change on a realm that has none
// yet applies on top of the defaults, or of the proposer's settings when
// it names them (a replica that missed the seed: it then agrees with the
// others again); a replica with settings applies the change to its own.
func TestFSMRealmSettingsChangeBeforeSeed(t *testing.T) {
	mk := testMasterKey(t)
	h := newHarness(t, mk)
	h.mustApply(&command{Op: opSetRealmSettings, RealmSettings: &realmSettingsCmd{Change: &RealmSettingsChange{MaxLife: ptr(time.Hour)}}})
	want := DefaultRealmSettings
	want.MaxLife = time.Hour
	if got, ok := settingsOf(t, h.f); !ok || got != want {
		t.Fatalf("got %+v (%v), want %+v", got, ok, want)
	}

	seeded := RealmSettings{MaxLife: 8 * time.Hour, LockoutMaxFailures: 4}
	missed, current := newHarness(t, mk), newHarness(t, mk)
	current.mustApply(&command{Op: opSetRealmSettings, RealmSettings: &realmSettingsCmd{Seed: true, Settings: &seeded}})
	change := &command{Op: opSetRealmSettings, RealmSettings: &realmSettingsCmd{Base: &seeded, Change: &RealmSettingsChange{MaxRenewableLife: ptr(time.Hour)}}}
	missed.mustApply(change)
	current.mustApply(change)
	want = seeded
	want.MaxRenewableLife = time.Hour
	for name, r := range map[string]*fsmHarness{"replica that missed the seed": missed, "replica with the seed": current} {
		if got, ok := settingsOf(t, r.f); !ok || got != want {
			t.Fatalf("%s: %+v (%v), want %+v", name, got, ok, want)
		}
	}
	if res := h.apply(&command{Op: opSetRealmSettings, RealmSettings: &realmSettingsCmd{Seed: true, Settings: &seeded, Base: &seeded}}); !errors.Is(res.Err, ErrInvalid) {
		t.Fatalf("seed with a base: %v, want ErrInvalid", res.Err)
	}
}

// TestSnapshotWithoutRealmSettingsLoads: a snapshot written before realm
// settings existed restores, with no settings.
func TestSnapshotWithoutRealmSettingsLoads(t *testing.T) {
	mk := testMasterKey(t)
	h := newHarness(t, mk)
	h.mustApply(h.create(alice, 1))
	var raw map[string]any
	if err := json.Unmarshal(h.snapshot(), &raw); err != nil {
		t.Fatal(err)
	}
	if _, ok := raw["realm_settings"]; ok {
		t.Fatal("a realm without settings wrote realm_settings")
	}
	r := newHarness(t, mk)
	r.mustApply(&command{Op: opSetRealmSettings, RealmSettings: &realmSettingsCmd{Seed: true, Settings: &DefaultRealmSettings}})
	if err := r.f.Restore(io.NopCloser(bytes.NewReader(h.snapshot()))); err != nil {
		t.Fatal(err)
	}
	if _, ok := settingsOf(t, r.f); ok {
		t.Fatal("restoring a snapshot without settings kept the old ones")
	}
	bad := bytes.Replace(h.snapshot(), []byte(`{"format":1,`), []byte(`{"format":1,"realm_settings":{"max_life":0},`), 1)
	if !bytes.Contains(bad, []byte("realm_settings")) {
		t.Fatal("test snapshot does not start with its format")
	}
	if err := r.f.Restore(io.NopCloser(bytes.NewReader(bad))); !errors.Is(err, ErrInvalid) {
		t.Fatalf("snapshot with max_life 0: %v, want ErrInvalid", err)
	}
}

// TestRealmSettingsReplicated: seeded on one node, changed through a
// follower (forwarded), every replica holds the same settings.
func TestRealmSettingsReplicated(t *testing.T) {
	c := startCluster(t, 3, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f := c.followers()[0]
	seeded, err := f.db.SeedRealmSettings(ctx, RealmSettings{MaxLife: 8 * time.Hour, MaxRenewableLife: time.Hour})
	if err != nil || !seeded {
		t.Fatalf("seed: %v (seeded %v)", err, seeded)
	}
	if seeded, err := c.leader().db.SeedRealmSettings(ctx, DefaultRealmSettings); err != nil || seeded {
		t.Fatalf("second seed: %v (seeded %v), want a no-op", err, seeded)
	}
	got, err := f.db.SetRealmSettings(ctx, RealmSettingsChange{MaxRenewableLife: ptr(2 * time.Hour)})
	want := RealmSettings{MaxLife: 8 * time.Hour, MaxRenewableLife: 2 * time.Hour}
	if err != nil || got != want {
		t.Fatalf("set: %+v, %v; want %+v", got, err, want)
	}
	if _, err := f.db.SetRealmSettings(ctx, RealmSettingsChange{}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty change: %v, want ErrInvalid", err)
	}
	c.eventually("every replica holds the settings", func() bool {
		for _, n := range c.all() {
			if s, ok := n.db.RealmSettings(); !ok || s != want {
				return false
			}
		}
		return true
	})
}
