package health

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func runScript(t *testing.T, s *ScriptCheck, timeout time.Duration) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return s.Run(ctx)
}

func shell(t *testing.T, script string, grace time.Duration) *ScriptCheck {
	t.Helper()
	s, err := NewScriptCheck([]string{"/bin/sh", "-c", script}, grace)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestScriptCheckOutcomes(t *testing.T) {
	for _, tc := range []struct {
		name       string
		script     string
		wantKind   FailureKind
		wantCode   int
		wantSignal string
		wantStderr string
	}{
		{"exit 0", "exit 0", KindNone, 0, "", ""},
		{"exit 3 with stderr", "echo disk full >&2; exit 3", KindExit, 3, "", "disk full"},
		{"killed by a signal", "kill -USR1 $$", KindExit, -1, "user defined signal 1", ""},
		// keepalived issue #1197: `echo 1` is not a failure, only the status counts.
		{"prints 1 but exits 0", "echo 1", KindNone, 0, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runScript(t, shell(t, tc.script, 0), 5*time.Second)
			if r.Kind() != tc.wantKind {
				t.Fatalf("kind %v (%v), want %v", r.Kind(), r.Err, tc.wantKind)
			}
			if tc.wantKind == KindNone {
				return
			}
			var xe *ExitError
			if !errors.As(r.Err, &xe) || xe.Code != tc.wantCode || xe.Signal != tc.wantSignal || !strings.Contains(xe.Stderr, tc.wantStderr) {
				t.Errorf("exit error %+v, want code %d signal %q stderr %q", xe, tc.wantCode, tc.wantSignal, tc.wantStderr)
			}
		})
	}
}

func TestScriptCheckMissingCommand(t *testing.T) {
	s, err := NewScriptCheck([]string{"/nonexistent/check"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if r := runScript(t, s, time.Second); r.Kind() != KindConfig {
		t.Fatalf("kind %v (%v), want config", r.Kind(), r.Err)
	}
	if _, err := NewScriptCheck(nil, 0); err == nil {
		t.Error("empty command accepted")
	}
}

// TestScriptCheckTimeout follows a script that ignores SIGTERM and has a
// child: the run fails at its timeout, runs are skipped while the group is
// being killed, SIGKILL after the grace period takes the whole group, and
// runs resume afterwards.
func TestScriptCheckTimeout(t *testing.T) {
	dir := t.TempDir()
	hang, childPid := filepath.Join(dir, "hang"), filepath.Join(dir, "child.pid")
	writeFile(t, hang, "")
	const grace = 300 * time.Millisecond
	s := shell(t, `if [ -e `+hang+` ]; then trap "" TERM; sleep 30 & echo $! > `+childPid+`; wait; fi; exit 0`, grace)

	start := time.Now()
	r := runScript(t, s, 200*time.Millisecond)
	if r.Kind() != KindTimeout || !errors.Is(r.Err, ErrScriptTimeout) {
		t.Fatalf("kind %v (%v), want timeout", r.Kind(), r.Err)
	}
	if d := time.Since(start); d > 400*time.Millisecond {
		t.Errorf("timed-out run returned after %v; it must not wait for the kill", d)
	}
	if r := runScript(t, s, time.Second); !r.Skipped {
		t.Fatalf("run during the kill grace: %+v, want skipped", r)
	}
	os.Remove(hang)

	var next Result
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if next = runScript(t, s, time.Second); !next.Skipped {
			break
		}
	}
	if !next.OK() {
		t.Fatalf("run after the kill: %+v, want ok", next)
	}
	if waited := time.Since(start); waited < grace {
		t.Errorf("runs resumed after %v, before the %v grace", waited, grace)
	}
	b, err := os.ReadFile(childPid)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if alive(pid) {
		t.Errorf("child %d of the timed-out script survived SIGKILL of its group", pid)
	}
}

// alive reports whether pid exists and is not a zombie awaiting its reaper.
func alive(pid int) bool {
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}

func TestScriptCheckBackgroundChildHoldingStderr(t *testing.T) {
	s := shell(t, "sleep 1 >&2 & exit 0", 200*time.Millisecond)
	r := runScript(t, s, 5*time.Second)
	if !r.OK() || r.Duration > 900*time.Millisecond {
		t.Fatalf("result %+v: a script that exited 0 must pass without waiting for its child", r)
	}
}

func TestTailBuffer(t *testing.T) {
	b := &tailBuffer{max: 4}
	b.Write([]byte("ab"))
	b.Write([]byte("cdef"))
	if got := b.String(); got != "cdef" {
		t.Errorf("tail = %q, want cdef", got)
	}
}
