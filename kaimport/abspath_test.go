package kaimport

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestConvertResolvesBareProgramNames: keepalived finds a script's program
// on its PATH, the agent runs only absolute paths. A converted script and
// notify command name the program's absolute path, so the agent's file
// checks accept them; a name not found is kept and the import says so.
func TestConvertResolvesBareProgramNames(t *testing.T) {
	dir := t.TempDir()
	killall := filepath.Join(dir, "killall")
	if err := os.WriteFile(killall, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	const conf = "vrrp_script chk {\n script \"killall -0 krb5kdc\"\n weight -60\n}\n" +
		"vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 150\n virtual_ipaddress {\n  192.0.2.10/24\n }\n" +
		" track_script {\n  chk\n }\n notify_master \"killall -HUP syslogd\"\n notify_backup \"notify.sh backup\"\n}\n"
	path := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	lookPath := func(file string) (string, error) {
		if file == "killall" {
			return killall, nil
		}
		return "", errors.New("not found")
	}
	r := convertFile(t, path, Options{Realm: "EXAMPLE.COM", LookPath: lookPath})
	if got := r.Health.Checks[0].Script; len(got) == 0 || got[0] != killall {
		t.Errorf("check script %q, want it to run %s", got, killall)
	}
	sc := r.Notify.Scripts["VI_1"]
	if want := killall + " -HUP syslogd"; sc.NotifyMaster != want {
		t.Errorf("notify_master %q, want %q", sc.NotifyMaster, want)
	}
	if sc.NotifyBackup != "notify.sh backup" {
		t.Errorf("notify_backup %q, want the unresolved command kept", sc.NotifyBackup)
	}
	if !slices.ContainsFunc(r.Notes, func(n string) bool {
		return strings.Contains(n, `"notify.sh" is not an absolute path`)
	}) {
		t.Errorf("no note about notify.sh; notes: %q", r.Notes)
	}
	// What the agent checks before it serves: the resolved programs pass,
	// only the unresolved one is refused.
	if err := r.Health.CheckFiles(); err != nil {
		t.Errorf("health checks refused: %v", err)
	}
	err := r.Notify.CheckFiles()
	if err == nil || !strings.Contains(err.Error(), "notify_backup") || strings.Contains(err.Error(), "notify_master") {
		t.Errorf("notify file check: %v, want only notify_backup refused", err)
	}
}
