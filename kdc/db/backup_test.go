package db

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestBackupRestoreRoundTrip(t *testing.T) {
	srcDir := t.TempDir()
	src := openTestDB(t, srcDir)
	ctx := testCtx(t)
	if _, err := src.Create(ctx, CreateRequest{Name: RealmTGS(testRealm), RandomKey: true}); err != nil {
		t.Fatal(err)
	}
	alice, err := src.Create(ctx, CreateRequest{Name: "alice", Password: ptr("correct horse battery"), Aliases: []string{"al"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.SetLocked(ctx, "alice", true); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Create(ctx, CreateRequest{Name: "svc/gone", RandomKey: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Rekey(ctx, "svc/gone"); err != nil {
		t.Fatal(err)
	}
	if err := src.Delete(ctx, "svc/gone", false); err != nil {
		t.Fatal(err)
	}
	var backup bytes.Buffer
	if err := src.Backup(&backup); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(backup.Bytes(), alice.Keys[0].Value) {
		t.Fatal("backup holds a plaintext key")
	}

	// Restore on a fresh dir with the same stash.
	dir := t.TempDir()
	opts := testOptions(dir)
	opts.MasterKeyPath = filepath.Join(srcDir, DefaultMasterKeyFile)
	opts.RestoreFrom = bytes.NewReader(backup.Bytes())
	dst, err := Open(opts)
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	check := func(d *DB) {
		t.Helper()
		p, ok := d.Lookup("al@" + testRealm)
		if !ok || !p.Locked || p.LockedAt.IsZero() || !bytes.Equal(p.Keys[0].Value, alice.Keys[0].Value) {
			t.Fatalf("restored alice: %+v %v", p, ok)
		}
		if d.Status().Revision != src.Status().Revision {
			t.Fatalf("revision %d, backup had %d", d.Status().Revision, src.Status().Revision)
		}
	}
	check(dst)
	// Tombstones came along: the deleted name continues at kvno 3.
	p, err := dst.Create(ctx, CreateRequest{Name: "svc/gone", RandomKey: true})
	if err != nil || p.KVNO() != 3 || p.Revision <= src.Status().Revision {
		t.Fatalf("re-create after restore: %+v, %v", p, err)
	}
	if err := dst.Delete(ctx, "svc/gone", false); err != nil {
		t.Fatal(err)
	}
	// And the restored state survives a restart.
	dst.Close()
	opts.RestoreFrom = nil
	dst, err = Open(opts)
	if err != nil {
		t.Fatalf("reopen restored: %v", err)
	}
	defer dst.Close()
	check2, _ := dst.Lookup("alice@" + testRealm)
	if check2 == nil || dst.Status().Revision != src.Status().Revision+2 {
		t.Fatalf("after restart: alice %v, revision %d", check2, dst.Status().Revision)
	}
}

func TestRestoreRefusals(t *testing.T) {
	srcDir := t.TempDir()
	src := openTestDB(t, srcDir)
	if _, err := src.Create(testCtx(t), CreateRequest{Name: "svc/a", RandomKey: true}); err != nil {
		t.Fatal(err)
	}
	var good bytes.Buffer
	if err := src.Backup(&good); err != nil {
		t.Fatal(err)
	}
	empty := openTestDB(t, t.TempDir())
	var emptyBackup bytes.Buffer
	if err := empty.Backup(&emptyBackup); err != nil {
		t.Fatal(err)
	}
	srcStash := filepath.Join(srcDir, DefaultMasterKeyFile)
	used := t.TempDir()
	openTestDB(t, used).Close()

	tests := []struct {
		name   string
		backup []byte
		tune   func(*Options)
		want   error
	}{
		{"another master key", good.Bytes(), nil, ErrWrongMasterKey},
		{"another master key, no principals", emptyBackup.Bytes(), nil, ErrWrongMasterKey},
		{"another realm", good.Bytes(), func(o *Options) { o.Realm = "OTHER.ORG" }, ErrRealmMismatch},
		{"garbage", []byte("not json"), nil, ErrInvalid},
		{"a raft snapshot without key check", []byte(`{"format":1,"realm":"EXAMPLE.COM"}`), nil, ErrInvalid},
		{"data dir in use", good.Bytes(), func(o *Options) { o.DataDir = used }, ErrInvalid},
		{"with join", good.Bytes(), func(o *Options) { o.Join = true }, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "db")
			opts := testOptions(dir)
			// A stash exists (the realm's, or another one) but no database.
			opts.MasterKeyPath = filepath.Join(t.TempDir(), "master.key")
			if _, err := CreateMasterKey(opts.MasterKeyPath); err != nil {
				t.Fatal(err)
			}
			if tt.want == ErrRealmMismatch {
				opts.MasterKeyPath = srcStash
			}
			opts.RestoreFrom = bytes.NewReader(tt.backup)
			if tt.tune != nil {
				tt.tune(&opts)
			}
			d, err := Open(opts)
			if err == nil {
				d.Close()
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open = %v, want %v", err, tt.want)
			}
			if m, _ := filepath.Glob(filepath.Join(dir, "*")); len(m) > 0 {
				t.Fatalf("refused restore left %s behind", strings.Join(m, ", "))
			}
		})
	}
}

// TestRestoredClusterGrows: a cluster started from a backup hands the
// restored state to a node that joins later (raft's user restore makes it a
// snapshot), and keeps the restored revision counter.
func TestRestoredClusterGrows(t *testing.T) {
	c := newTestCluster(t)
	src := c.open("src", false, nil)
	for _, name := range []string{RealmTGS(testRealm), "svc/a"} {
		if _, err := src.db.Create(testCtx(t), CreateRequest{Name: name, RandomKey: true}); err != nil {
			t.Fatal(err)
		}
	}
	var backup bytes.Buffer
	if err := src.db.Backup(&backup); err != nil {
		t.Fatal(err)
	}
	c.stop("src")

	c.open("n1", false, func(o *Options) { o.RestoreFrom = bytes.NewReader(backup.Bytes()) })
	n2 := c.join("n2", nil)
	c.waitConverged()
	p, ok := n2.db.Lookup("svc/a@" + testRealm)
	if !ok || p.KVNO() != 1 {
		t.Fatalf("joined node of a restored cluster: %v %v", p, ok)
	}
	p, err := n2.db.Rekey(testCtx(t), "svc/a")
	if err != nil || p.KVNO() != 2 || p.Revision != 3 { // krbtgt and svc/a were revisions 1 and 2
		t.Fatalf("rekey after restore: %+v, %v", p, err)
	}
}
