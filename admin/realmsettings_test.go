package admin

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kdcha/kdcha/kdc/db"
)

// TestAPIRealmSettings: a realm without settings says so; a change merges
// into the defaults, is audited with its fields, and invalid values are a
// 400 naming the setting.
func TestAPIRealmSettings(t *testing.T) {
	var logs bytes.Buffer
	c, _ := startAPILogging(t, slog.New(slog.NewTextHandler(&logs, nil)))
	ctx := context.Background()
	got, err := c.RealmSettings(ctx)
	if err != nil || got.Stored {
		t.Fatalf("fresh realm: %+v %v, want stored false", got, err)
	}
	eight := Duration(8 * time.Hour)
	got, err = c.SetRealmSettings(ctx, RealmSettingsChange{MaxLife: &eight})
	want := db.DefaultRealmSettings
	want.MaxLife = 8 * time.Hour
	if err != nil || !got.Stored || got.Settings() != want {
		t.Fatalf("set: %+v %v, want %+v", got, err, want)
	}
	if !strings.Contains(logs.String(), `op=realm.settings changed=[max_life]`) {
		t.Fatalf("no audit line naming the change:\n%s", logs.String())
	}
	if got, err := c.RealmSettings(ctx); err != nil || got.Settings() != want {
		t.Fatalf("show: %+v %v", got, err)
	}
	neg := Duration(-time.Second)
	if _, err := c.SetRealmSettings(ctx, RealmSettingsChange{LockoutWindow: &neg}); apiStatus(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "lockout_window") {
		t.Fatalf("negative window: %v, want a 400 naming lockout_window", err)
	}
	if _, err := c.SetRealmSettings(ctx, RealmSettingsChange{}); apiStatus(err) != http.StatusBadRequest {
		t.Fatalf("empty change: %v, want a 400", err)
	}
}
