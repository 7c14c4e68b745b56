package deploy

import (
	"bufio"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// maxExposure is `systemd-analyze security` of Debian 12's krb5-kdc.service:
// the unit replacing it must be no easier to abuse.
const maxExposure = 6.3

func requireAnalyze(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze not installed (Debian package systemd): the unit is not checked")
	}
}

// TestUnitVerifies runs `systemd-analyze verify` on the unit in a scratch
// root holding the host's system units (for the targets it orders after)
// and a stub at every executable path the unit names, since verify checks
// that they exist. verify exits 0 even on directives it ignores, so any
// output fails the test.
func TestUnitVerifies(t *testing.T) {
	requireAnalyze(t)
	unit, err := os.ReadFile("kdcha.service")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	units := ""
	for _, dir := range []string{"/usr/lib/systemd/system", "/lib/systemd/system"} {
		if _, err := os.Stat(dir); err == nil {
			units = dir
			break
		}
	}
	if units == "" {
		t.Skip("no systemd system unit directory: verify could not resolve the unit's targets")
	}
	copyTree(t, units, filepath.Join(root, "usr/lib/systemd/system"))
	for _, exe := range execPaths(t, string(unit)) {
		stub := filepath.Join(root, exe)
		if err := os.MkdirAll(filepath.Dir(stub), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(stub, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dst := filepath.Join(root, "etc/systemd/system/kdcha.service")
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, unit, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("systemd-analyze", "verify", "--root="+root, "kdcha.service").CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// execPaths returns the executables of the unit's Exec*= lines, without
// the special prefixes (-, @, :, +, !).
func execPaths(t *testing.T, unit string) []string {
	t.Helper()
	var paths []string
	re := regexp.MustCompile(`^Exec[A-Za-z]+=[-@:+!]*(\S+)`)
	sc := bufio.NewScanner(strings.NewReader(unit))
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			paths = append(paths, m[1])
		}
	}
	if len(paths) == 0 {
		t.Fatal("no Exec lines in the unit")
	}
	return paths
}

// copyTree copies the unit files and symlinks under src to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case d.Type().IsRegular():
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(target, b, 0o644)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("copy %s: %v", src, err)
	}
}

// TestUnitExposure checks `systemd-analyze security --offline=yes` (systemd
// 250 and later) against maxExposure and logs the score.
func TestUnitExposure(t *testing.T) {
	requireAnalyze(t)
	out, err := exec.Command("systemd-analyze", "security", "--offline=yes", "kdcha.service").CombinedOutput()
	if err != nil && strings.Contains(string(out), "offline") {
		t.Skipf("this systemd-analyze has no --offline mode: %s", out)
	}
	m := regexp.MustCompile(`Overall exposure level for kdcha\.service: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in the output (%v):\n%s", err, out)
	}
	score, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("systemd-analyze security: kdcha.service exposure %.1f (at most %.1f, Debian's krb5-kdc)", score, maxExposure)
	if score > maxExposure {
		t.Errorf("exposure %.1f above %.1f:\n%s", score, maxExposure, out)
	}
}
