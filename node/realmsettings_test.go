package node

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kdcha/kdcha/kdc/db"
)

// fakeSettings is a settingsStore: seeding fails while err is set.
type fakeSettings struct {
	s     *db.RealmSettings
	err   error
	seeds int
}

func (f *fakeSettings) RealmSettings() (db.RealmSettings, bool) {
	if f.s == nil {
		return db.RealmSettings{}, false
	}
	return *f.s, true
}

func (f *fakeSettings) SeedRealmSettings(_ context.Context, s db.RealmSettings) (bool, error) {
	f.seeds++
	if f.err != nil {
		return false, f.err
	}
	if f.s != nil {
		return false, nil
	}
	f.s = &s
	return true, nil
}

func loadTestConfig(t *testing.T, yaml string) *Config {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kdcha.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestRealmSettingConflicts: only keys the file sets count, and only when
// their value differs from the realm's.
func TestRealmSettingConflicts(t *testing.T) {
	cfg := loadTestConfig(t, "realm: R\nkdc:\n  max_life: 8h\n  lockout:\n    max_failures: 5\n    window: 10m\n")
	realm := db.RealmSettings{MaxLife: 10 * time.Hour, MaxRenewableLife: time.Hour, LockoutMaxFailures: 3, LockoutWindow: 10 * time.Minute}
	got := cfg.RealmSettingConflicts(realm)
	var keys []string
	for _, c := range got {
		keys = append(keys, c.String())
	}
	want := []string{"kdc.max_life: 8h0m0s in the file, 10h0m0s in the realm", "kdc.lockout.max_failures: 5 in the file, 3 in the realm"}
	if strings.Join(keys, "|") != strings.Join(want, "|") {
		t.Fatalf("conflicts %q, want %q (max_renewable_life is not in the file, the window agrees)", keys, want)
	}
	if got := loadTestConfig(t, "realm: R\n").RealmSettingConflicts(realm); len(got) != 0 {
		t.Fatalf("a file without the keys conflicts: %v", got)
	}
}

// TestSettingsWatch: a realm without settings is seeded from the file
// (retried while that fails); a disagreement is logged once, again only
// when it changes, and not when it is gone.
func TestSettingsWatch(t *testing.T) {
	cfg := loadTestConfig(t, "realm: R\nkdc:\n  max_life: 8h\n")
	var logs bytes.Buffer
	store := &fakeSettings{err: errors.New("no leader")}
	w := &settingsWatch{cfg: cfg, store: store, log: slog.New(slog.NewTextHandler(&logs, nil))}
	ctx := context.Background()
	w.step(ctx)
	if store.s != nil || store.seeds != 1 {
		t.Fatalf("seeded %v after %d tries while seeding fails", store.s, store.seeds)
	}
	store.err = nil
	w.step(ctx)
	if store.s == nil || store.s.MaxLife != 8*time.Hour {
		t.Fatalf("seeded %+v, want the file's 8h", store.s)
	}
	warns := func() int { return strings.Count(logs.String(), "level=WARN") }
	if warns() != 0 {
		t.Fatalf("the seeding node warns:\n%s", logs.String())
	}
	store.s.MaxLife = 10 * time.Hour // `kdcha realm settings set` elsewhere
	w.step(ctx)
	w.step(ctx)
	if warns() != 1 || !strings.Contains(logs.String(), "keys=[kdc.max_life]") {
		t.Fatalf("want one WARN naming kdc.max_life:\n%s", logs.String())
	}
	store.s.MaxLife = 12 * time.Hour
	w.step(ctx)
	if warns() != 2 {
		t.Fatalf("a changed disagreement is not logged again:\n%s", logs.String())
	}
	store.s.MaxLife = 8 * time.Hour
	w.step(ctx)
	store.s.MaxLife = 12 * time.Hour
	w.step(ctx)
	if warns() != 3 || store.seeds != 2 {
		t.Fatalf("after agreeing and disagreeing again: %d warnings, %d seeds\n%s", warns(), store.seeds, logs.String())
	}
}

// missingSettings is a store whose realm has settings this replica lacks:
// every seed is refused, and nothing arrives.
type missingSettings struct{ seeds int }

func (m *missingSettings) RealmSettings() (db.RealmSettings, bool) { return db.RealmSettings{}, false }

func (m *missingSettings) SeedRealmSettings(context.Context, db.RealmSettings) (bool, error) {
	m.seeds++
	return false, nil
}

// TestSettingsWatchMissedSeed: a replica that keeps lacking the settings
// after its seeds were refused warns once, after missedSeedRounds.
func TestSettingsWatchMissedSeed(t *testing.T) {
	var logs bytes.Buffer
	store := &missingSettings{}
	w := &settingsWatch{cfg: loadTestConfig(t, "realm: R\n"), store: store, log: slog.New(slog.NewTextHandler(&logs, nil))}
	for i := 1; i <= missedSeedRounds+3; i++ {
		w.step(context.Background())
		warns := strings.Count(logs.String(), "level=WARN")
		if want := min(max(i-missedSeedRounds+1, 0), 1); warns != want {
			t.Fatalf("after %d rounds: %d warnings, want %d\n%s", i, warns, want, logs.String())
		}
	}
	if store.seeds != 1 {
		t.Fatalf("%d seeds, want one: a refused seed means the realm has settings, and proposing again is a Raft write for nothing", store.seeds)
	}
}
