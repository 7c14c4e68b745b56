package filecheck

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, name string, mode fs.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte("x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // not subject to the umask
		t.Fatal(err)
	}
	return p
}

func TestPrivate(t *testing.T) {
	cases := []struct {
		mode fs.FileMode
		want string // "" means accepted
	}{
		{0o600, ""},
		{0o400, ""},
		{0o640, "group or others"},
		{0o604, "group or others"},
		{0o620, "group or others"},
	}
	for _, c := range cases {
		err := Private(write(t, "secret", c.mode))
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("mode %v: Private = %v, want %q", c.mode, err, c.want)
		}
	}
	if err := Private(filepath.Join(t.TempDir(), "absent")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
	if err := Private(t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: %v", err)
	}
}

func TestExecutable(t *testing.T) {
	if err := Executable(write(t, "ok.sh", 0o755)); err != nil {
		t.Errorf("executable: %v", err)
	}
	if err := Executable(write(t, "plain", 0o644)); err == nil || !strings.Contains(err.Error(), "not executable") {
		t.Errorf("mode 0644: %v", err)
	}
	for _, rel := range []string{"true", "./notify.sh", "bin/notify"} {
		if err := Executable(rel); !errors.Is(err, ErrNotAbsolute) {
			t.Errorf("%q: %v, want ErrNotAbsolute", rel, err)
		}
	}
	if err := Executable(filepath.Join(t.TempDir(), "absent")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing: %v, want fs.ErrNotExist", err)
	}
	if err := Executable(t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: %v", err)
	}
}
