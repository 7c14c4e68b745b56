package db

import (
	"bytes"
	"testing"
)

// TestRekeyKeepsPreviousKeys: a rekey keeps the replaced keys one kvno
// back (so TGTs issued before a krbtgt rekey keep working), a second rekey
// drops the oldest, and both survive a restart.
func TestRekeyKeepsPreviousKeys(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(testOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	name := "krbtgt/" + testRealm
	p1, err := d.Create(ctx, CreateRequest{Name: name, RandomKey: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(p1.PreviousKeys) != 0 {
		t.Fatalf("new principal has previous keys: %+v", p1.PreviousKeys)
	}
	p2, err := d.Rekey(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	k1, _ := p1.KeyFor(18)
	if old, ok := p2.KeyForVersion(18, 1); !ok || !bytes.Equal(old.Value, k1.Value) {
		t.Fatalf("after rekey, kvno 1 key kept: %v", ok)
	}
	if cur, ok := p2.KeyForVersion(18, 2); !ok || bytes.Equal(cur.Value, k1.Value) {
		t.Fatalf("after rekey, kvno 2 key: %v", ok)
	}
	if _, err := d.Rekey(ctx, name); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d2 := openTestDB(t, dir)
	p3, ok := d2.Lookup(name + "@" + testRealm)
	if !ok || p3.KVNO() != 3 {
		t.Fatalf("after reopen: %v kvno %d", ok, p3.KVNO())
	}
	if _, ok := p3.KeyForVersion(18, 1); ok {
		t.Error("kvno 1 still kept two rekeys later")
	}
	k2, _ := p2.KeyFor(18)
	if old, ok := p3.KeyForVersion(18, 2); !ok || !bytes.Equal(old.Value, k2.Value) {
		t.Errorf("kvno 2 key not kept after the second rekey and a restart")
	}
}
