package admin

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kdcha/kdcha/internal/syncbuf"
)

// syncBuffer is written by one goroutine while the test reads it.
type syncBuffer = syncbuf.Buffer

// TestAdminChangesAreLogged: each change through the admin socket is one
// INFO line naming the operation, the principal, the fields changed and
// the caller's uid; reads log nothing; no password or key reaches the log.
func TestAdminChangesAreLogged(t *testing.T) {
	var out syncBuffer
	c, _ := startAPILogging(t, slog.New(slog.NewJSONHandler(&out, nil)))
	ctx := context.Background()
	const pw, pw2 = "correct-horse-9-secret", "battery-staple-7-secret"
	if _, err := c.Add(ctx, AddRequest{Name: "alice", Password: ptr(pw)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Modify(ctx, "alice", ModifyRequest{RequiresPreauth: ptr(false), MaxLife: ptr(Duration(time.Hour))}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetPassword(ctx, "alice", pw2); err != nil {
		t.Fatal(err)
	}
	kt, err := c.Keytab(ctx, []string{"alice"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, "alice", false); err != nil {
		t.Fatal(err)
	}

	uid := float64(os.Getuid())
	want := []struct {
		op      string
		changed []string
	}{
		{"principal.add", []string{"password"}},
		{"principal.modify", []string{"requires_preauth", "max_life"}},
		{"principal.set_password", []string{"password"}},
		{"keytab.export", nil},
		{"principal.delete", nil},
	}
	var got []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == "admin change" {
			got = append(got, m)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("logged %d changes, want %d (a read logs none):\n%s", len(got), len(want), out.String())
	}
	for i, w := range want {
		g := got[i]
		if g["op"] != w.op || g["level"] != "INFO" || g["uid"] != uid {
			t.Errorf("change %d: %v, want op=%s at INFO by uid %v", i, g, w.op, uid)
		}
		if w.changed != nil {
			var changed []string
			for _, c := range g["changed"].([]any) {
				changed = append(changed, c.(string))
			}
			if !slices.Equal(changed, w.changed) || g["principal"] != "alice@ADMIN.TEST" {
				t.Errorf("change %d: principal %v changed %v, want alice@ADMIN.TEST %v", i, g["principal"], changed, w.changed)
			}
		}
	}
	if p := got[3]["principals"]; !slices.Equal(p.([]any), []any{"alice"}) {
		t.Errorf("keytab export names %v", p)
	}
	for _, secret := range []string{pw, pw2, string(kt[len(kt)-16:])} {
		if strings.Contains(out.String(), secret) {
			t.Errorf("the log holds a secret %q", secret)
		}
	}
}

func ptr[T any](v T) *T { return &v }
