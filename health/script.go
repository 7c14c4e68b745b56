package health

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DefaultKillGrace is how long a timed-out script has between SIGTERM and
// SIGKILL, as in keepalived.
const DefaultKillGrace = 2 * time.Second

// stderrTail is how much of a failing script's stderr is kept for the reason.
const stderrTail = 512

// ScriptCheck runs a command without a shell: exit status 0 is healthy,
// anything else (non-zero exit, death by signal, timeout) is a failure.
// Following keepalived's vrrp_script, the command runs in its own process
// group; on timeout the group gets SIGTERM, then SIGKILL after a grace
// period, and runs are skipped (Result.Skipped) until that group has been
// reaped, so a hung script never piles up copies of itself.
type ScriptCheck struct {
	argv      []string
	killGrace time.Duration

	mu      sync.Mutex
	running bool
}

// NewScriptCheck returns a check running argv. killGrace <= 0 means
// DefaultKillGrace.
func NewScriptCheck(argv []string, killGrace time.Duration) (*ScriptCheck, error) {
	if len(argv) == 0 || argv[0] == "" {
		return nil, errors.New("script check: empty command")
	}
	if killGrace <= 0 {
		killGrace = DefaultKillGrace
	}
	return &ScriptCheck{argv: append([]string(nil), argv...), killGrace: killGrace}, nil
}

// Run starts the command and waits for it until ctx is done.
func (s *ScriptCheck) Run(ctx context.Context) Result {
	start := time.Now()
	if !s.claim() {
		return Result{Start: start, Skipped: true}
	}
	cmd := exec.Command(s.argv[0], s.argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr := &tailBuffer{max: stderrTail}
	cmd.Stderr = stderr
	// A background grandchild holding stderr open must not keep Wait (and
	// so the check) blocked after the script itself has exited.
	cmd.WaitDelay = s.killGrace
	if err := cmd.Start(); err != nil {
		s.release()
		return Result{Start: start, Duration: time.Since(start), Err: failure(KindConfig, "exec", err)}
	}
	waitc := make(chan error, 1)
	go func() { waitc <- cmd.Wait() }()

	select {
	case err := <-waitc:
		s.release()
		return Result{Start: start, Duration: time.Since(start), Err: exitFailure(err, stderr.String())}
	case <-ctx.Done():
		pgid := cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		go s.reap(pgid, waitc)
		d := time.Since(start)
		return Result{Start: start, Duration: d,
			Err: failure(KindTimeout, "exec", fmt.Errorf("%w after %v (%s); sent SIGTERM", ErrScriptTimeout, d.Round(time.Millisecond), s))}
	}
}

// reap escalates a timed-out script to SIGKILL after the grace period and
// allows runs again once it is gone.
func (s *ScriptCheck) reap(pgid int, waitc <-chan error) {
	defer s.release()
	t := time.NewTimer(s.killGrace)
	defer t.Stop()
	select {
	case <-waitc:
	case <-t.C:
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-waitc
	}
	// The leader is gone; make sure the rest of its group is too.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

func (s *ScriptCheck) claim() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		return false
	}
	s.running = true
	return true
}

func (s *ScriptCheck) release() {
	s.mu.Lock()
	s.running = false
	s.mu.Unlock()
}

// String describes the check for logs.
func (s *ScriptCheck) String() string { return strings.Join(s.argv, " ") }

func exitFailure(err error, stderr string) error {
	if err == nil || errors.Is(err, exec.ErrWaitDelay) {
		// ErrWaitDelay alone means the script exited 0 but left stderr open.
		return nil
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return failure(KindOther, "wait", err)
	}
	x := &ExitError{Code: ee.ExitCode(), Stderr: strings.TrimSpace(stderr)}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		x.Signal = ws.Signal().String()
	}
	return failure(KindExit, "exit", x)
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
