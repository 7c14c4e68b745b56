package db

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// fakeFuture is a raft.Future that resolves to err after delay.
type fakeFuture struct {
	err   error
	delay time.Duration
}

func (f fakeFuture) Error() error {
	time.Sleep(f.delay)
	return f.err
}

func TestWaitTranslatesRaftErrors(t *testing.T) {
	other := errors.New("disk on fire")
	tests := []struct {
		name string
		f    fakeFuture
		ctx  time.Duration // ctx timeout
		want error
	}{
		{"ok", fakeFuture{}, time.Second, nil},
		{"not leader", fakeFuture{err: raft.ErrNotLeader}, time.Second, ErrNotLeader},
		{"leadership lost", fakeFuture{err: raft.ErrLeadershipLost}, time.Second, ErrOutcomeUnknown},
		{"transfer", fakeFuture{err: raft.ErrLeadershipTransferInProgress}, time.Second, ErrNotLeader},
		{"enqueue timeout", fakeFuture{err: raft.ErrEnqueueTimeout}, time.Second, ErrNoQuorum},
		{"shutdown", fakeFuture{err: raft.ErrRaftShutdown}, time.Second, ErrNoQuorum},
		{"storage", fakeFuture{err: other}, time.Second, other},
		{"ctx expires first", fakeFuture{delay: time.Second}, 20 * time.Millisecond, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), tt.ctx)
			defer cancel()
			start := time.Now()
			err := wait(ctx, tt.f)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("wait = %v, want %v", err, tt.want)
			}
			if time.Since(start) > 500*time.Millisecond {
				t.Fatalf("wait took %s", time.Since(start))
			}
		})
	}
}

func TestWaitForUsesDeadline(t *testing.T) {
	if got := waitFor(context.Background()); got != defaultApplyWait {
		t.Fatalf("no deadline: %s", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if got := waitFor(ctx); got <= 2*time.Second || got > 3*time.Second {
		t.Fatalf("3 s deadline: %s", got)
	}
	past, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	if got := waitFor(past); got <= 0 {
		t.Fatalf("past deadline gives %s; raft treats 0 as no timeout", got)
	}
}
