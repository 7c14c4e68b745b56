package kdc

import "github.com/kdcha/kdcha/kdc/db"

// SettingsSource is implemented by readers that hold the replicated realm
// settings (db.DB). Once the realm has settings, they replace the ticket
// lifetimes of the Policy and the LockoutPolicy a Handler was built with,
// so that every node of a cluster issues the same lifetimes and locks out
// after the same failures whatever its own configuration says; before
// (a database that no node has seeded yet) the configured ones apply.
type SettingsSource interface {
	RealmSettings() (db.RealmSettings, bool)
}

var _ SettingsSource = (*db.DB)(nil)

// realmPolicy is the Policy in force now. It is read per request, without
// a lock: a change applied by the database takes effect on the next one.
func (h *Handler) realmPolicy() Policy {
	p := h.policy
	if h.settings == nil {
		return p
	}
	if s, ok := h.settings.RealmSettings(); ok {
		p.MaxLife, p.MaxRenewableLife = s.MaxLife, s.MaxRenewableLife
	}
	return p
}

// realmLockout is the realm's lockout policy in force now (the one a
// password policy without max failures leaves in place).
func (c *failureCounter) realmLockout() LockoutPolicy {
	if c.settings == nil {
		return c.policy
	}
	s, ok := c.settings.RealmSettings()
	if !ok {
		return c.policy
	}
	return LockoutPolicy{MaxFailures: s.LockoutMaxFailures, Window: s.LockoutWindow, Duration: s.LockoutDuration}.withDefaults()
}

// Settings returns the realm's ticket lifetimes and lockout policy as
// kdc.Config states them: the form a node's configuration seeds a fresh
// realm's replicated settings with.
func (c Config) Settings() db.RealmSettings {
	p, lp := c.Policy(), c.Lockout.withDefaults()
	return db.RealmSettings{MaxLife: p.MaxLife, MaxRenewableLife: p.MaxRenewableLife,
		LockoutMaxFailures: lp.MaxFailures, LockoutWindow: lp.Window, LockoutDuration: lp.Duration}
}
