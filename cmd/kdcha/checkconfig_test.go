package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCheckConfigAndAgentReportEveryProblem: the problems issue 10 found
// one per start, after "node ready" (a missing webhook secret_file, a
// missing notify script, a missing interface), and the ones check-config
// used to accept, come out of `kdcha check-config` and `kdcha agent` in
// one run, the same text from both; the agent stops before it creates its
// data dir or binds a port.
func TestCheckConfigAndAgentReportEveryProblem(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	script := filepath.Join(dir, "notify.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n"), 0o644); err != nil { // not executable
		t.Fatal(err)
	}
	secret := filepath.Join(dir, "open.secret")
	if err := os.WriteFile(secret, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(secret, 0o644); err != nil {
		t.Fatal(err)
	}
	kdcPort, metricsPort := freePort(t), freePort(t)
	cfgPath := filepath.Join(dir, "kdcha.yaml")
	cfg := fmt.Sprintf(`realm: check.test
node:
  name: n1
  data_dir: %[1]s/data
  admin_socket: %[1]s/admin.sock
kdc:
  listen: ["127.0.0.1:%[2]d"]
metrics:
  listen: 127.0.0.1:%[3]d
vrrp:
  instances:
    - name: VI_1
      interface: kdchanope0
      vrid: 51
      virtual_ipaddresses: [192.0.2.10]
notify:
  webhooks:
    - url: https://hooks.example/a
      secret_file: %[1]s/missing.secret
    - url: https://hooks.example/b
      secret_file: %[4]s
  scripts:
    VI_1:
      notify: %[1]s/missing.sh
      notify_master: %[5]s
    VI_9:
      notify_backup: notify.sh
`, dir, kdcPort, metricsPort, secret, script)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	want := []string{
		fmt.Sprintf("kdcha: config %s: 8 problems:", cfgPath),
		cfgPath + ":1: realm: ",
		// What needs nothing of the host first (LoadConfig reports it too),
		// then the host's files and interfaces.
		cfgPath + ":26: notify.scripts.VI_9: no vrrp instance is named \"VI_9\"",
		cfgPath + ":19: notify.webhooks[0].secret_file: ",
		cfgPath + ":21: notify.webhooks[1].secret_file: " + secret + " is accessible to group or others",
		cfgPath + ":24: notify.scripts.VI_1.notify: stat " + dir + "/missing.sh: no such file",
		cfgPath + ":25: notify.scripts.VI_1.notify_master: " + script + " is not executable",
		cfgPath + ":27: notify.scripts.VI_9.notify_backup: \"notify.sh\": not an absolute path",
		cfgPath + ":13: vrrp.instances[0].interface: kdchanope0: ",
	}

	run := func(verb string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var stdout, stderr syncBuffer
		cmd := exec.CommandContext(ctx, kdchaBin, verb, "--config", cfgPath)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Fatalf("%s: %v, want exit status 1\nstdout:\n%s\nstderr:\n%s", verb, err, &stdout, &stderr)
		}
		if stdout.String() != "" {
			t.Errorf("%s printed on stdout: %q", verb, &stdout)
		}
		return stderr.String()
	}
	check := run("check-config")
	lines := strings.Split(strings.TrimSuffix(check, "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("check-config printed %d lines, want %d:\n%s", len(lines), len(want), check)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d = %q\nwant prefix %q", i, lines[i], w)
		}
	}
	if agent := run("agent"); agent != check {
		t.Errorf("agent reported\n%s\ncheck-config reported\n%s", agent, check)
	}
	// Opening the database would have created the data dir; the KDC,
	// metrics and admin listeners come after it.
	if _, err := os.Stat(filepath.Join(dir, "data")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the agent created its data dir before refusing the config: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "admin.sock")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the agent made its admin socket before refusing the config: %v", err)
	}
}
