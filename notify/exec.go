package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// ErrTimeout is wrapped by script errors when a script outlived its timeout
// (or the dispatcher's Close deadline) and was killed.
var ErrTimeout = errors.New("script timed out")

// outputLimit bounds the script output kept for the error; the rest is
// discarded so a chatty script cannot grow the agent's memory.
const outputLimit = 1024

// run executes argv in its own process group and waits for it. When timeout
// passes or ctx ends, the whole group gets SIGTERM and, grace later,
// SIGKILL: killing the group rather than the process also stops whatever
// the script started (a "sleep" under sh, a curl it forked). It returns the
// first outputLimit bytes of combined stdout and stderr. env is added to
// the agent's environment.
func run(ctx context.Context, argv, env []string, timeout, grace time.Duration) ([]byte, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &limitedBuffer{limit: outputLimit}
	cmd.Stdout, cmd.Stderr = out, out
	// A descendant that left the group can hold the output pipe open after
	// the script exits; stop waiting for it after grace.
	cmd.WaitDelay = grace
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", argv[0], err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case err := <-done:
		if err != nil {
			return out.Bytes(), fmt.Errorf("%s: %w", argv[0], err)
		}
		return out.Bytes(), nil
	case <-timer.C:
	case <-ctx.Done():
	}

	pgid := cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM) // ESRCH means it just exited: fine
	timer.Reset(grace)
	select {
	case <-done:
	case <-timer.C:
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-done
	}
	return out.Bytes(), fmt.Errorf("%s: %w after %v", argv[0], ErrTimeout, timeout)
}

// limitedBuffer keeps the first limit bytes written to it and discards the
// rest. It is safe for concurrent use.
type limitedBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	limit int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.limit - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// Bytes returns a copy of what was kept.
func (b *limitedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}
