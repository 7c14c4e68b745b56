package health

import (
	"context"
	"sync"
	"testing"
	"time"
)

// stuckProbe ignores its context and blocks until released, like a probe
// wedged in a syscall: the one way a check's loop can stop coming round.
type stuckProbe struct {
	entered chan struct{}
	release chan struct{}
}

func (p stuckProbe) Run(context.Context) Result {
	close(p.entered)
	<-p.release
	return Result{Start: time.Now()}
}

// TestRunnerHeartbeat: each check's loop beats once per run, under its own
// name; a check whose probe never returns stops beating while the others
// go on.
func TestRunnerHeartbeat(t *testing.T) {
	ok := &switchProbe{}
	ok.healthy.Store(true)
	stuck := stuckProbe{entered: make(chan struct{}), release: make(chan struct{})}
	var mu sync.Mutex
	beats := map[string]int{}
	r := NewRunner([]Check{
		{Name: "fine", Probe: ok, Interval: 5 * time.Millisecond, Timeout: 50 * time.Millisecond, Track: TrackParams{Rise: 1, Fall: 1}},
		{Name: "wedged", Probe: stuck, Interval: 5 * time.Millisecond, Timeout: 50 * time.Millisecond, Track: TrackParams{Rise: 1, Fall: 1}},
	}, RunnerOptions{Logger: quietLogger(), Heartbeat: func(check string) {
		mu.Lock()
		beats[check]++
		mu.Unlock()
	}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	defer func() {
		cancel()
		close(stuck.release)
		<-done
	}()
	<-stuck.entered
	count := func(check string) int {
		mu.Lock()
		defer mu.Unlock()
		return beats[check]
	}
	// The wedged loop beat once, before its run; the other keeps beating
	// (once per run: its probe counts the runs).
	for start := time.Now(); ok.runs.Load() < 5; time.Sleep(time.Millisecond) {
		if time.Since(start) > 5*time.Second {
			t.Fatalf("the healthy check ran %d times in 5s", ok.runs.Load())
		}
	}
	if got := count("wedged"); got != 1 {
		t.Errorf("the wedged check beat %d times, want 1 (before its only run)", got)
	}
	if got, runs := count("fine"), int(ok.runs.Load()); got < runs {
		t.Errorf("the healthy check beat %d times for %d runs", got, runs)
	}
}
