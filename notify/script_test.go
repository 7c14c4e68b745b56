package notify

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// writeScript writes an executable sh script into dir and returns its path.
func writeScript(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// recorder is a script that appends its arguments to the log file given as
// its first argument, one line per run, each argument followed by "|" so
// that argument boundaries show.
func recorder(t *testing.T) (script, log string) {
	dir := t.TempDir()
	return writeScript(t, dir, "record.sh", `log=$1; shift; printf '%s|' "$@" >> "$log"; echo >> "$log"`),
		filepath.Join(dir, "log")
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// TestScriptArguments checks keepalived's argv: the state's own script gets
// nothing, then notify gets INSTANCE <name> <STATE> <priority> after the
// configured arguments, quoting preserved.
func TestScriptArguments(t *testing.T) {
	script, log := recorder(t)
	cfg := ScriptConfig{
		Notify:       script + ` ` + log + ` "generic arg"`,
		NotifyMaster: script + ` ` + log + ` master`,
		NotifyBackup: script + ` ` + log + ` backup`,
		NotifyFault:  script + ` ` + log + ` fault`,
		NotifyStop:   script + ` ` + log + ` stop`,
	}
	only := ScriptConfig{Notify: script + " " + log}
	tests := []struct {
		cfg  ScriptConfig
		ev   Event
		want []string
	}{
		{cfg, Event{Instance: "VI_1", State: StateMaster, Priority: 150},
			[]string{"master|", "generic arg|INSTANCE|VI_1|MASTER|150|"}},
		{cfg, Event{Instance: "VI_1", State: StateBackup, Priority: 100},
			[]string{"backup|", "generic arg|INSTANCE|VI_1|BACKUP|100|"}},
		{cfg, Event{Instance: "VI_1", State: StateFault, Priority: 0},
			[]string{"fault|", "generic arg|INSTANCE|VI_1|FAULT|0|"}},
		{cfg, Event{Instance: "VI_1", State: StateStop, Priority: 100},
			[]string{"stop|", "generic arg|INSTANCE|VI_1|STOP|100|"}},
		{only, Event{Instance: "VI_1", State: StateMaster, Priority: 7},
			[]string{"INSTANCE|VI_1|MASTER|7|"}},
		{ScriptConfig{NotifyFault: script + " " + log + " fault"}, Event{Instance: "VI_1", State: StateMaster},
			nil},
	}
	for _, tt := range tests {
		os.Remove(log)
		s, err := newScriptSink("VI_1", tt.cfg, quietLog)
		if err != nil {
			t.Fatalf("newScriptSink: %v", err)
		}
		if err := s.Deliver(context.Background(), tt.ev); err != nil {
			t.Errorf("%s: Deliver: %v", tt.ev.State, err)
		}
		if got := readLines(t, log); !slices.Equal(got, tt.want) {
			t.Errorf("%s: ran %q, want %q", tt.ev.State, got, tt.want)
		}
	}
}

// TestScriptOrder makes notify_master slow: keepalived would let the
// backup scripts of the next transition overtake it; notify must not.
func TestScriptOrder(t *testing.T) {
	script, log := recorder(t)
	slow := writeScript(t, t.TempDir(), "slow.sh", `sleep 0.3; exec "$@"`)
	d, err := New(Config{Scripts: map[string]ScriptConfig{"VI_1": {
		Notify:       script + " " + log,
		NotifyMaster: slow + " " + script + " " + log + " master",
		NotifyBackup: script + " " + log + " backup",
	}}}, Options{Logger: quietLog})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	for _, s := range []State{StateMaster, StateBackup, StateMaster, StateFault} {
		d.Publish(Event{Instance: "VI_1", State: s, Priority: 100})
	}
	closeNow(t, d)
	want := []string{
		"master|", "INSTANCE|VI_1|MASTER|100|",
		"backup|", "INSTANCE|VI_1|BACKUP|100|",
		"master|", "INSTANCE|VI_1|MASTER|100|",
		"INSTANCE|VI_1|FAULT|100|",
	}
	if got := readLines(t, log); !slices.Equal(got, want) {
		t.Errorf("ran\n%q\nwant\n%q", got, want)
	}
}

// TestScriptTimeoutKills runs scripts that outlive their timeout, one of
// them deaf to SIGTERM: each must be reported as timed out, and the child
// each started must be dead, since the whole process group is killed.
func TestScriptTimeoutKills(t *testing.T) {
	tests := []struct {
		name, body string
	}{
		{"exits on SIGTERM", `sleep 30 & echo $! > "$1"; wait`},
		{"ignores SIGTERM", `trap '' TERM; sleep 30 & echo $! > "$1"; wait; wait`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			script := writeScript(t, dir, "hang.sh", tt.body)
			pidFile := filepath.Join(dir, "pid")
			s, err := newScriptSink("VI_1", ScriptConfig{NotifyMaster: script + " " + pidFile, Timeout: 200 * time.Millisecond}, quietLog)
			if err != nil {
				t.Fatal(err)
			}
			s.grace = 300 * time.Millisecond
			start := time.Now()
			err = s.Deliver(context.Background(), Event{Instance: "VI_1", State: StateMaster})
			if elapsed := time.Since(start); !errors.Is(err, ErrTimeout) || elapsed < 200*time.Millisecond || elapsed > waitLimit {
				t.Fatalf("Deliver = %v after %v, want ErrTimeout after 200ms", err, elapsed)
			}
			b, err := os.ReadFile(pidFile)
			if err != nil {
				t.Fatalf("the script did not record its child: %v", err)
			}
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				t.Fatal(err)
			}
			waitDead(t, pid)
		})
	}
}

// waitDead fails unless pid is gone or a zombie within waitLimit; a SIGKILL
// takes effect when the process is next scheduled, not at kill(2).
func waitDead(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil || zombie(string(stat)) {
			return
		}
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("child %d still running after the script timed out", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// zombie reports whether a /proc/PID/stat line shows state Z; the state
// follows the parenthesised command name.
func zombie(stat string) bool {
	i := strings.LastIndexByte(stat, ')')
	return i >= 0 && strings.HasPrefix(stat[i+1:], " Z")
}

func TestScriptFailure(t *testing.T) {
	dir := t.TempDir()
	failing := writeScript(t, dir, "fail.sh", `echo "no route to pager"; exit 3`)
	script, log := recorder(t)
	s, err := newScriptSink("VI_1", ScriptConfig{NotifyBackup: failing, Notify: script + " " + log}, quietLog)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Deliver(context.Background(), Event{Instance: "VI_1", State: StateBackup, Priority: 90})
	if err == nil || !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "no route to pager") {
		t.Errorf("Deliver = %v, want exit status 3 and the script's output", err)
	}
	if got, want := readLines(t, log), []string{"INSTANCE|VI_1|BACKUP|90|"}; !slices.Equal(got, want) {
		t.Errorf("after a failing notify_backup, notify ran %q, want %q", got, want)
	}
}

func TestScriptStartupErrors(t *testing.T) {
	tests := []struct {
		cfg  ScriptConfig
		want string
	}{
		{ScriptConfig{NotifyMaster: "/nonexistent/notify.sh"}, "notify.scripts.VI_1.notify_master:"},
		{ScriptConfig{Notify: "no-such-program-kdcha"}, "notify.scripts.VI_1.notify:"},
		{ScriptConfig{NotifyStop: "/bin/true 'unterminated"}, "notify.scripts.VI_1.notify_stop: unterminated"},
	}
	for _, tt := range tests {
		_, err := New(Config{Scripts: map[string]ScriptConfig{"VI_1": tt.cfg}}, Options{Logger: quietLog})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%+v) = %v, want %q", tt.cfg, err, tt.want)
		}
	}
}

// TestNodeScriptStartupError: a broken notify.node is named by its own
// key, not as an instance's notify script.
func TestNodeScriptStartupError(t *testing.T) {
	_, err := New(Config{Node: "/nonexistent/node-events.sh"}, Options{Logger: quietLog})
	if err == nil || !strings.HasPrefix(err.Error(), "notify.node: ") || strings.Contains(err.Error(), "notify.scripts") {
		t.Errorf("New = %v, want an error starting with notify.node:", err)
	}
}

func TestScriptLookPath(t *testing.T) {
	s, err := newScriptSink("VI_1", ScriptConfig{Notify: "true"}, quietLog)
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(s.notify[0]) {
		t.Errorf("notify program %q not resolved to an absolute path", s.notify[0])
	}
}
