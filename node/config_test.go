package node

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExampleConfigsLoad keeps every example in configs/ valid.
func TestExampleConfigsLoad(t *testing.T) {
	files, err := filepath.Glob("../configs/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example configs found: %v", err)
	}
	for _, f := range files {
		if _, err := LoadConfig(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestConfigErrorsNameLineAndKey(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown key", "realm: R\nkdc:\n  listn: [\"0.0.0.0:88\"]\n", []string{":3: kdc.listn: unknown key"}},
		{"missing realm", "node:\n  name: a\n", []string{"realm: required"}},
		{"bad value", "realm: R\nkdc:\n  listen: [\"0.0.0.0:88\"]\n  max_udp_reply: 10\n", []string{":4: kdc.max_udp_reply"}},
		{"bad list item", "realm: R\nkdc:\n  listen:\n    - \"0.0.0.0:88\"\n    - nonsense\n", []string{":5: kdc.listen[1]"}},
		{"bad kpasswd address", "realm: R\nkdc:\n  kpasswd_listen: [\"0.0.0.0\"]\n", []string{":3: kdc.kpasswd_listen[0]"}},
		{"bad enctype", "realm: R\ndatabase:\n  enctypes: [rc4-hmac]\n", []string{":3: database.enctypes", "rc4-hmac"}},
		{"bad duration", "realm: R\nkdc:\n  max_life: ten hours\n", []string{":3: kdc.max_life: cannot unmarshal"}},
		{"bad log level", "realm: R\nnode:\n  log_level: loud\n", []string{":3: node.log_level"}},
		{"syntax", "realm: [\n", []string{"config"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "kdcha.yaml")
			if err := os.WriteFile(path, []byte(c.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadConfig(path)
			if err == nil {
				t.Fatal("loaded")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestCheckConfigFlagsUnsafeAdminSocketDir: a directory others can write
// lets them replace the admin socket, so check-config names the key's line.
func TestCheckConfigFlagsUnsafeAdminSocketDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kdcha.yaml")
	yaml := "realm: R\nnode:\n  name: a\n  admin_socket: " + filepath.Join(dir, "admin.sock") + "\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadConfig(path)
	if err == nil || !strings.Contains(err.Error(), ":4: node.admin_socket") || !strings.Contains(err.Error(), "writable by group or others") {
		t.Fatalf("LoadConfig = %v, want :4: node.admin_socket ... writable by group or others", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(path); err != nil {
		t.Fatalf("private directory: %v", err)
	}
}
