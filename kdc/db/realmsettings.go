package db

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// RealmSettings are the realm-wide KDC limits. They are replicated like the
// principals, so that two nodes can never issue different lifetimes or
// lock principals out after different numbers of failures; the KDC of every
// node reads them from its replica (kdc.SettingsSource).
type RealmSettings struct {
	// MaxLife caps every ticket's lifetime (MIT max_life).
	MaxLife time.Duration `json:"max_life"`
	// MaxRenewableLife caps renew-till (MIT max_renewable_life); 0
	// disables renewable tickets.
	MaxRenewableLife time.Duration `json:"max_renewable_life"`
	// LockoutMaxFailures failed preauthentications within LockoutWindow
	// lock a principal for LockoutDuration (0: until an admin unlocks it);
	// LockoutMaxFailures 0 disables lockout. A password policy that sets
	// max failures overrides these for its principals.
	LockoutMaxFailures int           `json:"lockout_max_failures"`
	LockoutWindow      time.Duration `json:"lockout_window"`
	LockoutDuration    time.Duration `json:"lockout_duration"`
}

// DefaultRealmSettings are the base of a change made before any node
// seeded the realm's settings: the defaults of the kdc configuration
// section (10 h tickets, renewable for 7 days, no lockout).
var DefaultRealmSettings = RealmSettings{MaxLife: 10 * time.Hour, MaxRenewableLife: 7 * 24 * time.Hour, LockoutWindow: 10 * time.Minute}

// RealmSettingsChange changes some realm settings; nil fields keep theirs.
type RealmSettingsChange struct {
	MaxLife            *time.Duration `json:"max_life,omitempty"`
	MaxRenewableLife   *time.Duration `json:"max_renewable_life,omitempty"`
	LockoutMaxFailures *int           `json:"lockout_max_failures,omitempty"`
	LockoutWindow      *time.Duration `json:"lockout_window,omitempty"`
	LockoutDuration    *time.Duration `json:"lockout_duration,omitempty"`
}

// empty reports whether the change changes nothing.
func (c *RealmSettingsChange) empty() bool {
	return c.MaxLife == nil && c.MaxRenewableLife == nil && c.LockoutMaxFailures == nil &&
		c.LockoutWindow == nil && c.LockoutDuration == nil
}

// on returns s with the change applied.
func (c *RealmSettingsChange) on(s RealmSettings) RealmSettings {
	set := func(dst *time.Duration, src *time.Duration) {
		if src != nil {
			*dst = *src
		}
	}
	set(&s.MaxLife, c.MaxLife)
	set(&s.MaxRenewableLife, c.MaxRenewableLife)
	set(&s.LockoutWindow, c.LockoutWindow)
	set(&s.LockoutDuration, c.LockoutDuration)
	if c.LockoutMaxFailures != nil {
		s.LockoutMaxFailures = *c.LockoutMaxFailures
	}
	return s
}

// maxLockoutFailures bounds LockoutMaxFailures: MIT stores it in 32 bits,
// and a realm that wants no lockout says 0.
const maxLockoutFailures = 1 << 30

// Check reports the first invalid setting, naming it.
func (s RealmSettings) Check() error {
	switch {
	case s.MaxLife <= 0:
		return fmt.Errorf("%w: realm max_life must be positive, got %s", ErrInvalid, s.MaxLife)
	case s.MaxRenewableLife < 0:
		return fmt.Errorf("%w: realm max_renewable_life must not be negative, got %s", ErrInvalid, s.MaxRenewableLife)
	case s.LockoutMaxFailures < 0 || s.LockoutMaxFailures > maxLockoutFailures:
		return fmt.Errorf("%w: realm lockout_max_failures must be between 0 and %d, got %d", ErrInvalid, maxLockoutFailures, s.LockoutMaxFailures)
	case s.LockoutWindow < 0:
		return fmt.Errorf("%w: realm lockout_window must not be negative, got %s", ErrInvalid, s.LockoutWindow)
	case s.LockoutDuration < 0:
		return fmt.Errorf("%w: realm lockout_duration must not be negative, got %s", ErrInvalid, s.LockoutDuration)
	}
	return nil
}

// realmSettingsCmd is the payload of opSetRealmSettings.
type realmSettingsCmd struct {
	// Seed stores Settings only if the realm has none yet (the first
	// node's configuration); it is a no-op otherwise, so that nodes
	// starting together cannot overwrite each other or an admin's change.
	Seed     bool                 `json:"seed,omitempty"`
	Settings *RealmSettings       `json:"settings,omitempty"`
	Change   *RealmSettingsChange `json:"change,omitempty"`
	// Base is the proposer's settings when it had some: a replica without
	// any applies Change to it instead of DefaultRealmSettings. A node that
	// ran a build without realm settings when they were seeded rejected
	// that entry (unknown command); the next change brings it in line with
	// the others instead of merging into the defaults.
	Base *RealmSettings `json:"base,omitempty"`
}

// RealmSettings returns the realm's settings, and false when no node has
// stored any yet (a database older than realm settings, or a fresh realm
// before its first node seeded them). It does not lock: the KDC reads it
// for every request.
func (d *DB) RealmSettings() (RealmSettings, bool) {
	if s := d.fsm.settings.Load(); s != nil {
		return *s, true
	}
	return RealmSettings{}, false
}

// SetRealmSettings changes the realm's settings (on top of
// DefaultRealmSettings if none were stored) and returns them as changed.
func (d *DB) SetRealmSettings(ctx context.Context, c RealmSettingsChange) (RealmSettings, error) {
	if c.empty() {
		return RealmSettings{}, fmt.Errorf("%w: no realm setting to change", ErrInvalid)
	}
	rc := &realmSettingsCmd{Change: &c}
	cur, ok := d.RealmSettings()
	if ok {
		rc.Base = &cur
	} else {
		cur = DefaultRealmSettings
	}
	if err := c.on(cur).Check(); err != nil {
		return RealmSettings{}, err
	}
	if err := d.proposeCluster(ctx, &command{Op: opSetRealmSettings, RealmSettings: rc}); err != nil {
		return RealmSettings{}, err
	}
	s, _ := d.RealmSettings()
	return s, nil
}

// SeedRealmSettings stores s as the realm's settings unless some are
// stored already, and reports whether s became them.
func (d *DB) SeedRealmSettings(ctx context.Context, s RealmSettings) (bool, error) {
	if err := s.Check(); err != nil {
		return false, err
	}
	if _, ok := d.RealmSettings(); ok {
		return false, nil
	}
	err := d.proposeCluster(ctx, &command{Op: opSetRealmSettings, RealmSettings: &realmSettingsCmd{Seed: true, Settings: &s}})
	if errors.Is(err, ErrExists) {
		return false, nil
	}
	return err == nil, err
}

// setRealmSettings applies opSetRealmSettings; f.mu is held.
func (f *fsm) setRealmSettings(c *command) error {
	rc := c.RealmSettings
	if rc == nil || (rc.Settings == nil) == (rc.Change == nil) || rc.Seed != (rc.Settings != nil) || (rc.Base != nil && rc.Change == nil) {
		return fmt.Errorf("%w: set_realm_settings needs either seed settings or a change", ErrInvalid)
	}
	cur := f.settings.Load()
	var next RealmSettings
	switch {
	case rc.Seed && cur != nil:
		return fmt.Errorf("%w: realm settings already stored", ErrExists)
	case rc.Seed:
		next = *rc.Settings
	case cur == nil && rc.Base != nil:
		next = rc.Change.on(*rc.Base)
	case cur == nil:
		next = rc.Change.on(DefaultRealmSettings)
	default:
		next = rc.Change.on(*cur)
	}
	if err := next.Check(); err != nil {
		return err
	}
	f.st.settings = &next
	f.settings.Store(&next)
	return nil
}
