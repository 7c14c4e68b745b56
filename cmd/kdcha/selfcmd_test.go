package main

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSelfCommand(t *testing.T) {
	dir := t.TempDir()
	installed := filepath.Join(dir, "bin", "kdcha")
	other := filepath.Join(dir, "other", "kdcha")
	spaced := filepath.Join(dir, "my tools", "kdcha")
	for _, p := range []string{installed, other, spaced} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// PATH finds the installed copy only.
	lookPath := func(name string) (string, error) {
		if name == "kdcha" {
			return installed, nil
		}
		return "", exec.ErrNotFound
	}
	cases := []struct{ exe, want string }{
		{"/tmp/go-build1234567/b001/exe/kdcha", "go run ./cmd/kdcha"},
		{installed, "kdcha"},
		{other, other},
		{spaced, "'" + spaced + "'"},
		{"", "kdcha"},
	}
	for _, c := range cases {
		if got := selfCommand(c.exe, lookPath); got != c.want {
			t.Errorf("selfCommand(%q) = %q, want %q", c.exe, got, c.want)
		}
	}
}

// TestDevBannerCommandsRun: the banner's commands work as printed from a
// shell whose PATH has no kdcha (the test binary is not installed).
func TestDevBannerCommandsRun(t *testing.T) {
	requireMIT(t)
	t.Parallel()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, kdchaBin, "dev", "--data-dir", dir, "--kdc-addr", "127.0.0.1:0")
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	logs := &syncBuffer{}
	cmd.Stderr = logs
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		cmd.Wait()
		if t.Failed() {
			t.Logf("kdcha dev logs:\n%s", logs)
		}
	}()
	var add, export string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && export == "" {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.Contains(line, " principal add "):
			add = line
		case strings.Contains(line, " keytab export "):
			export = line
		}
	}
	go func() {
		for sc.Scan() {
		}
	}()
	if add == "" || export == "" {
		t.Fatalf("no principal add / keytab export lines in the banner (scan: %v)", sc.Err())
	}
	if want := kdchaBin + " principal add "; !strings.HasPrefix(add, want) {
		t.Errorf("banner says %q, want it to start with %q", add, want)
	}
	for _, line := range []string{add, export} {
		sh := exec.CommandContext(ctx, "/bin/sh", "-c", line)
		sh.Dir = dir
		sh.Env = []string{"PATH=/usr/bin:/bin", "KDCHA_ADMIN_SOCKET=" + filepath.Join(dir, "admin.sock")}
		if out, err := sh.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", line, err, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "web.keytab")); errors.Is(err, os.ErrNotExist) {
		t.Errorf("the banner's keytab export wrote no web.keytab")
	}
}
