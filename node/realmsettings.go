package node

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/kdcha/kdcha/admin"
	"github.com/kdcha/kdcha/kdc/db"
)

// The realm settings (ticket lifetimes, lockout) live in the replicated
// database; the kdc section's keys for them only seed a fresh realm (or one
// whose database predates realm settings). Afterwards a node whose file
// still sets them to other values is reported, never obeyed: two nodes of a
// realm must not issue different lifetimes.

// realmSettingKeys are the configuration keys of the realm settings, with
// the setting each stands for, as text to compare and show.
var realmSettingKeys = []struct {
	key   string
	value func(db.RealmSettings) string
}{
	{"kdc.max_life", func(s db.RealmSettings) string { return s.MaxLife.String() }},
	{"kdc.max_renewable_life", func(s db.RealmSettings) string { return s.MaxRenewableLife.String() }},
	{"kdc.lockout.max_failures", func(s db.RealmSettings) string { return fmt.Sprint(s.LockoutMaxFailures) }},
	{"kdc.lockout.window", func(s db.RealmSettings) string { return s.LockoutWindow.String() }},
	{"kdc.lockout.duration", func(s db.RealmSettings) string { return s.LockoutDuration.String() }},
}

// presentRealmSettingKeys returns the realm setting keys the file whose
// YAML tree is root sets explicitly (a default is no disagreement).
func presentRealmSettingKeys(root *yaml.Node) []string {
	if len(root.Content) == 0 {
		return nil
	}
	var out []string
	for _, k := range realmSettingKeys {
		n := root.Content[0]
		for part := range strings.SplitSeq(k.key, ".") {
			if n = mappingValue(n, part); n == nil {
				break
			}
		}
		if n != nil {
			out = append(out, k.key)
		}
	}
	return out
}

// RealmSettingConflicts returns the realm setting keys this configuration
// sets to values other than the realm's s (which apply), sorted by key.
func (c *Config) RealmSettingConflicts(s db.RealmSettings) []admin.SettingConflict {
	mine := c.KDC.Settings()
	var out []admin.SettingConflict
	for _, k := range realmSettingKeys {
		if !slices.Contains(c.realmKeys, k.key) {
			continue
		}
		if here, realm := k.value(mine), k.value(s); here != realm {
			out = append(out, admin.SettingConflict{Key: k.key, Config: here, Realm: realm})
		}
	}
	return out
}

// settingsStore is the database as the realm settings watch uses it.
type settingsStore interface {
	RealmSettings() (db.RealmSettings, bool)
	SeedRealmSettings(ctx context.Context, s db.RealmSettings) (bool, error)
}

// settingsWatch seeds a realm without settings from this node's
// configuration, and logs one WARN whenever the set of keys of the file
// that disagree with the realm's settings changes (at start, and after
// `kdcha realm settings set`), instead of one per check.
type settingsWatch struct {
	cfg    *Config
	store  settingsStore
	log    *slog.Logger
	warned string // the conflicts last logged, as text
	// refused counts the rounds in a row in which the realm had settings
	// (the seed was refused) that this replica still lacks; once the seed
	// was refused, the realm has settings and no round proposes again (a
	// refused proposal is still a Raft write on every node).
	refused int
}

// missedSeedRounds is how many rounds a replica may lack the realm's
// settings after a refused seed before that is a WARN: longer than any
// replication lag, so it means the replica rejected them (it ran a build
// without realm settings when they were stored).
const missedSeedRounds = 3

// missed counts a round in which the realm has settings (a seed was
// refused) that this replica lacks: another node's seed not applied here
// yet, or one this replica rejected under an older build, which only the
// next change repairs.
func (w *settingsWatch) missed() {
	if w.refused++; w.refused == missedSeedRounds {
		w.log.Warn("the realm has settings this replica lacks (stored while this node ran a kdcha without realm settings); " +
			"its KDC applies its own kdc section until `kdcha realm settings set` changes any setting, which replicates them all")
	}
}

// step does one round: seed if the realm has no settings, else compare.
func (w *settingsWatch) step(ctx context.Context) {
	s, ok := w.store.RealmSettings()
	if !ok && w.refused > 0 {
		w.missed()
		return
	}
	if !ok {
		seeded, err := w.store.SeedRealmSettings(ctx, w.cfg.KDC.Settings())
		switch {
		case err != nil:
			// No leader yet, or this node is not admitted yet: the next
			// round tries again; meanwhile the KDC applies the file's.
			w.log.Debug("realm settings not seeded yet", "err", err)
			return
		case seeded:
			w.log.Info("realm settings seeded from this node's kdc section", "max_life", w.cfg.KDC.Settings().MaxLife)
		}
		if s, ok = w.store.RealmSettings(); !ok {
			w.missed()
			return
		}
	}
	w.refused = 0
	conflicts := w.cfg.RealmSettingConflicts(s)
	var keys, text []string
	for _, c := range conflicts {
		keys = append(keys, c.Key)
		text = append(text, c.String())
	}
	now := strings.Join(text, "; ")
	if now == w.warned {
		return
	}
	w.warned = now
	if len(conflicts) > 0 {
		w.log.Warn("configuration disagrees with the realm settings, which apply (change them with `kdcha realm settings set`, or remove the keys)",
			"keys", keys, "differences", now)
	}
}

// realmSettingsPoll is how often a node compares its file with the
// realm's settings: a change by `kdcha realm settings set` elsewhere is
// reported within it.
const realmSettingsPoll = 5 * time.Second

// run steps every tick until ctx ends.
func (w *settingsWatch) run(ctx context.Context, tick <-chan time.Time) {
	for {
		w.step(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
	}
}

// watchRealmSettings runs a settingsWatch of m until ctx ends.
func watchRealmSettings(ctx context.Context, m *Member) {
	t := time.NewTicker(realmSettingsPoll)
	defer t.Stop()
	(&settingsWatch{cfg: m.cfg, store: m.db, log: m.log}).run(ctx, t.C)
}
