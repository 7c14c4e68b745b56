package db

import (
	"testing"
	"time"
)

// TestLockedAt: the lock time is that of the unlocked->locked transition,
// so a lockout that the KDC re-asserts does not restart its expiry.
func TestLockedAt(t *testing.T) {
	d := openTestDB(t, t.TempDir())
	ctx := testCtx(t)
	if _, err := d.Create(ctx, CreateRequest{Name: "bob", Password: ptr("correct horse battery")}); err != nil {
		t.Fatal(err)
	}
	var first time.Time
	steps := []struct {
		name   string
		locked bool
		want   func(p *Principal) bool
	}{
		{"lock", true, func(p *Principal) bool { first = p.LockedAt; return p.Locked && p.LockedAt.Equal(p.Modified) }},
		{"lock again", true, func(p *Principal) bool { return p.Locked && p.LockedAt.Equal(first) && p.Modified.After(first) }},
		{"unlock", false, func(p *Principal) bool { return !p.Locked && p.LockedAt.IsZero() }},
		{"lock anew", true, func(p *Principal) bool { return p.Locked && p.LockedAt.After(first) }},
	}
	for _, s := range steps {
		time.Sleep(2 * time.Millisecond) // distinct command times
		p, err := d.SetLocked(ctx, "bob", s.locked)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if !s.want(p) {
			t.Fatalf("%s: locked %v at %v (modified %v)", s.name, p.Locked, p.LockedAt, p.Modified)
		}
		if got, _ := d.Lookup(p.Name); got.LockedAt != p.LockedAt {
			t.Fatalf("%s: index has LockedAt %v, write returned %v", s.name, got.LockedAt, p.LockedAt)
		}
	}
}
