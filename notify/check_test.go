package notify

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckFiles: every secret_file and script program is checked, and all
// problems come back at once, each naming its key.
func TestCheckFiles(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := file("good.secret", "s3cret\n", 0o600)
	open := file("open.secret", "s3cret\n", 0o644)
	empty := file("empty.secret", "\n", 0o600)
	script := file("notify.sh", "#!/bin/sh\n", 0o755)
	plain := file("plain.sh", "#!/bin/sh\n", 0o644)
	cfg := Config{
		Webhooks: []WebhookConfig{
			{URL: "https://a.example/", SecretFile: good},
			{URL: "https://a.example/", SecretFile: open},
			{URL: "https://a.example/", SecretFile: empty},
			{URL: "https://a.example/", SecretFile: filepath.Join(dir, "missing")},
		},
		Scripts: map[string]ScriptConfig{
			"A": {Notify: script + " --verbose", NotifyMaster: "notify.sh"},
			"B": {NotifyBackup: plain, NotifyFault: filepath.Join(dir, "absent.sh")},
		},
		Node: "node-events.sh",
	}
	err := cfg.CheckFiles()
	if err == nil {
		t.Fatal("CheckFiles accepted broken files")
	}
	want := []string{
		"notify.webhooks[1].secret_file: " + open + " is accessible to group or others",
		"notify.webhooks[2].secret_file: " + empty + ": empty secret",
		"notify.webhooks[3].secret_file: stat ",
		"notify.scripts.A.notify_master: \"notify.sh\": not an absolute path",
		"notify.scripts.B.notify_backup: " + plain + " is not executable",
		"notify.scripts.B.notify_fault: stat ",
		"notify.node: \"node-events.sh\": not an absolute path",
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) {
		t.Fatalf("CheckFiles reported %d problems, want %d:\n%v", len(lines), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("problem %d = %q, want prefix %q", i, lines[i], w)
		}
	}
	cfg.Webhooks, cfg.Scripts, cfg.Node = cfg.Webhooks[:1], map[string]ScriptConfig{"A": {Notify: script}}, script+" --node"
	if err := cfg.CheckFiles(); err != nil {
		t.Errorf("good files: %v", err)
	}
}
