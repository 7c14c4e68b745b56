package db

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// checkModes fails unless every directory under dir is 0700 and every file
// 0600, and returns how many files it saw.
func checkModes(t *testing.T, dir string) int {
	t.Helper()
	files := 0
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		want := os.FileMode(0o600)
		if e.IsDir() {
			want = 0o700
		} else {
			files++
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s has mode %04o, want %04o", path, fi.Mode().Perm(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestSnapshotFilesPrivate(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(testOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Create(testCtx(t), CreateRequest{Name: "svc/a", RandomKey: true}); err != nil {
		t.Fatal(err)
	}
	if err := d.node.r.Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	snaps := filepath.Join(dir, snapshotDir)
	if n := checkModes(t, snaps); n < 2 {
		t.Fatalf("%d files under %s, want a snapshot's meta.json and state.bin", n, snaps)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	// A data dir written by an older build, with raft's modes, is fixed
	// when opened.
	filepath.WalkDir(snaps, func(path string, e fs.DirEntry, _ error) error {
		if e.IsDir() {
			return os.Chmod(path, 0o755)
		}
		return os.Chmod(path, 0o644)
	})
	d = openTestDB(t, dir)
	checkModes(t, snaps)
	if _, err := d.Get("svc/a"); err != nil {
		t.Fatal(err)
	}
}
