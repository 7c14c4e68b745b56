package admin

import (
	"context"
	"net/http"
	"time"

	"github.com/kdcha/kdcha/kdc/db"
)

// Realm settings endpoints (`kdcha realm settings show|set`): the
// realm-wide KDC limits replicated in the database (db.RealmSettings).

// RealmSettingsStore is what the realm settings endpoints need; a Store
// that also implements it gets them.
type RealmSettingsStore interface {
	RealmSettings() (db.RealmSettings, bool)
	SetRealmSettings(ctx context.Context, c db.RealmSettingsChange) (db.RealmSettings, error)
}

var _ RealmSettingsStore = (*db.DB)(nil)

// RealmSettingsJSON is db.RealmSettings as the API writes it (durations as
// text).
type RealmSettingsJSON struct {
	// Stored is false until a node seeded the realm's settings (a database
	// older than them): each KDC then applies its own kdc section.
	Stored             bool     `json:"stored"`
	MaxLife            Duration `json:"max_life"`
	MaxRenewableLife   Duration `json:"max_renewable_life"`
	LockoutMaxFailures int      `json:"lockout_max_failures"`
	LockoutWindow      Duration `json:"lockout_window"`
	LockoutDuration    Duration `json:"lockout_duration"`
}

// RealmSettingsToJSON converts the database's form.
func RealmSettingsToJSON(s db.RealmSettings, stored bool) RealmSettingsJSON {
	return RealmSettingsJSON{Stored: stored, MaxLife: Duration(s.MaxLife), MaxRenewableLife: Duration(s.MaxRenewableLife),
		LockoutMaxFailures: s.LockoutMaxFailures, LockoutWindow: Duration(s.LockoutWindow), LockoutDuration: Duration(s.LockoutDuration)}
}

// Settings converts back to the database's form.
func (j RealmSettingsJSON) Settings() db.RealmSettings {
	return db.RealmSettings{MaxLife: time.Duration(j.MaxLife), MaxRenewableLife: time.Duration(j.MaxRenewableLife),
		LockoutMaxFailures: j.LockoutMaxFailures, LockoutWindow: time.Duration(j.LockoutWindow), LockoutDuration: time.Duration(j.LockoutDuration)}
}

// RealmSettingsChange is the body of PATCH /v1/realm/settings: the
// settings to change; absent ones keep their value.
type RealmSettingsChange struct {
	MaxLife            *Duration `json:"max_life,omitempty"`
	MaxRenewableLife   *Duration `json:"max_renewable_life,omitempty"`
	LockoutMaxFailures *int      `json:"lockout_max_failures,omitempty"`
	LockoutWindow      *Duration `json:"lockout_window,omitempty"`
	LockoutDuration    *Duration `json:"lockout_duration,omitempty"`
}

func (c RealmSettingsChange) change() db.RealmSettingsChange {
	d := func(v *Duration) *time.Duration {
		if v == nil {
			return nil
		}
		t := time.Duration(*v)
		return &t
	}
	return db.RealmSettingsChange{MaxLife: d(c.MaxLife), MaxRenewableLife: d(c.MaxRenewableLife),
		LockoutMaxFailures: c.LockoutMaxFailures, LockoutWindow: d(c.LockoutWindow), LockoutDuration: d(c.LockoutDuration)}
}

func (s *Server) registerRealmSettings() {
	if _, ok := s.store.(RealmSettingsStore); !ok {
		return
	}
	s.mux.HandleFunc("GET /v1/realm/settings", s.getRealmSettings)
	s.mux.HandleFunc("PATCH /v1/realm/settings", s.patchRealmSettings)
}

func (s *Server) getRealmSettings(w http.ResponseWriter, r *http.Request) {
	if !s.syncRead(w, r) {
		return
	}
	writeJSON(w, http.StatusOK, RealmSettingsToJSON(s.store.(RealmSettingsStore).RealmSettings()))
}

func (s *Server) patchRealmSettings(w http.ResponseWriter, r *http.Request) {
	var req RealmSettingsChange
	if !readJSON(w, r, &req) {
		return
	}
	out, err := s.store.(RealmSettingsStore).SetRealmSettings(r.Context(), req.change())
	if err != nil {
		writeError(w, err)
		return
	}
	s.audit(r, "realm.settings", "changed", fieldsSet(req), "max_life", out.MaxLife, "max_renewable_life", out.MaxRenewableLife,
		"lockout_max_failures", out.LockoutMaxFailures, "lockout_window", out.LockoutWindow, "lockout_duration", out.LockoutDuration)
	writeJSON(w, http.StatusOK, RealmSettingsToJSON(out, true))
}

// RealmSettings returns the realm's replicated settings.
func (c *Client) RealmSettings(ctx context.Context) (RealmSettingsJSON, error) {
	var out RealmSettingsJSON
	return out, c.do(ctx, http.MethodGet, "/v1/realm/settings", nil, nil, &out)
}

// SetRealmSettings changes the settings ch names and returns them all.
func (c *Client) SetRealmSettings(ctx context.Context, ch RealmSettingsChange) (RealmSettingsJSON, error) {
	var out RealmSettingsJSON
	return out, c.do(ctx, http.MethodPatch, "/v1/realm/settings", nil, ch, &out)
}

// SettingConflict is a key of a node's configuration file that sets a
// realm setting to another value than the realm's, which applies.
type SettingConflict struct {
	// Key is the configuration key ("kdc.max_life").
	Key string `json:"key"`
	// Config is the file's value, Realm the one that applies.
	Config string `json:"config"`
	Realm  string `json:"realm"`
}

// String is "kdc.max_life: 8h0m0s in the file, 10h0m0s in the realm".
func (c SettingConflict) String() string {
	return c.Key + ": " + c.Config + " in the file, " + c.Realm + " in the realm"
}
