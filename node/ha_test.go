package node

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/kdcha/kdcha/kdc/db"
)

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

// TestProbeKeytabWrittenOnlyWhenKeysChange: the refresher runs every
// second; unchanged keys neither rewrite the keytab nor log anything at
// info (before, every refresh logged "keytab exported" and rewrote the
// file with a new timestamp), and a rekey is written once, logged at debug.
func TestProbeKeytabWrittenOnlyWhenKeysChange(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d, err := db.Open(db.Options{DataDir: filepath.Join(t.TempDir(), "db"), Realm: "R.TEST", NodeID: "a", CreateIfMissing: true, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	if _, err := d.Create(ctx, db.CreateRequest{Name: ProbePrincipal, RandomKey: true}); err != nil {
		t.Fatal(err)
	}
	h := &haParts{log: log, database: d}
	path := filepath.Join(t.TempDir(), "health.keytab")

	logs.Reset()
	first := h.writeProbeKeytab(path, nil)
	if first == nil {
		t.Fatalf("no keytab written:\n%s", logs.String())
	}
	ino := inode(t, path)
	for range 3 {
		if got := h.writeProbeKeytab(path, first); !bytes.Equal(got, first) {
			t.Fatal("unchanged keys gave another keytab")
		}
	}
	if inode(t, path) != ino {
		t.Error("unchanged keys rewrote the keytab file")
	}
	if strings.Contains(logs.String(), "keytab exported") || strings.Count(logs.String(), "level=DEBUG") != 1 {
		t.Errorf("refreshes logged:\n%s", logs.String())
	}

	if _, err := d.Rekey(ctx, ProbePrincipal); err != nil {
		t.Fatal(err)
	}
	logs.Reset()
	next := h.writeProbeKeytab(path, first)
	if bytes.Equal(next, first) || inode(t, path) == ino {
		t.Fatal("a rekey did not reach the keytab")
	}
	if !strings.Contains(logs.String(), "level=DEBUG") || strings.Contains(logs.String(), "level=INFO") {
		t.Errorf("a rekey should log once at debug:\n%s", logs.String())
	}
}
