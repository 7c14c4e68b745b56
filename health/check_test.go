package health

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckFiles: keytabs and script programs are checked on disk, every
// problem reported with its key.
func TestCheckFiles(t *testing.T) {
	dir := t.TempDir()
	file := func(name string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	kt, openKT, script := file("probe.keytab", 0o600), file("open.keytab", 0o644), file("check.sh", 0o755)
	c := Config{Checks: []CheckConfig{
		{Type: CheckKinit, Principal: "p@R", Keytab: kt},
		{Name: "k2", Type: CheckKinit, Principal: "p@R", Keytab: openKT},
		{Name: "k3", Type: CheckKinit, Principal: "p@R", Keytab: filepath.Join(dir, "none.keytab")},
		{Type: CheckScript, Script: Command{script, "--quick"}},
		{Name: "s2", Type: CheckScript, Script: Command{"check.sh"}},
	}}
	c.ApplyDefaults()
	err := c.CheckFiles()
	want := []string{
		"health.checks[1].keytab: " + openKT + " is accessible to group or others",
		"health.checks[2].keytab: stat ",
		"health.checks[4].script: \"check.sh\": not an absolute path",
	}
	if err == nil {
		t.Fatal("CheckFiles accepted broken files")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) {
		t.Fatalf("%d problems, want %d:\n%v", len(lines), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("problem %d = %q, want prefix %q", i, lines[i], w)
		}
	}
}
