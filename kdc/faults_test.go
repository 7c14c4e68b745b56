package kdc

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"
)

func TestFaultsSetValidates(t *testing.T) {
	var f Faults
	for _, tc := range []struct {
		mode  FaultMode
		delay time.Duration
		ok    bool
	}{
		{FaultNone, 0, true},
		{FaultHang, 0, true},
		{FaultSlow, time.Millisecond, true},
		{FaultSlow, MaxFaultDelay, true},
		{FaultSlow, MaxFaultDelay + 1, false},
		{FaultSlow, 0, false},
		{FaultSlow, -time.Second, false},
		{FaultHang, time.Second, false},
		{FaultNone, time.Second, false},
		{"crash", 0, false},
	} {
		err := f.Set(tc.mode, tc.delay)
		if (err == nil) != tc.ok {
			t.Errorf("Set(%q, %s) = %v, want ok=%v", tc.mode, tc.delay, err, tc.ok)
		}
		if err == nil {
			if m, d := f.State(); m != tc.mode || d != tc.delay {
				t.Errorf("State() = %q, %s after Set(%q, %s)", m, d, tc.mode, tc.delay)
			}
		}
	}
}

// With faults enabled, a hang holds a real AS request unanswered (the
// client times out) and makes the progress probe fail once the threshold
// has passed; clearing it answers the held request and restores the probe.
// A slow fault delays answers without stalling.
func TestFaultHangAndSlow(t *testing.T) {
	t.Parallel()
	k := newTestKDC(t)
	k.now = time.Now().UTC()
	faults := &Faults{}
	clk := &fakeClock{t: t0}
	s, addr := serveOnClock(t, k.h, clk, WithFaults(faults))
	probe := NewProgressProbe(s, 0)
	req := k.asReq(t, asReq{client: "alice"})

	if _, err := readReply(sendUDP(t, addr, req), 5*time.Second); err != nil {
		t.Fatalf("no fault: %v", err)
	}
	if err := faults.Set(FaultHang, 0); err != nil {
		t.Fatal(err)
	}
	held := sendUDP(t, addr, k.asReq(t, asReq{client: "alice", etypes: []int32{18}}))
	if _, err := readReply(held, 300*time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("hung KDC answered: %v", err)
	}
	waitFor(t, "the request to be held", func() bool { return udpListener(s.Progress()).InFlight == 1 })
	if err := runProbe(t, probe); err != nil {
		t.Fatalf("hung for less than the threshold: %v", err)
	}
	clk.advance(DefaultStallThreshold)
	wantStalled(t, runProbe(t, probe))

	if err := faults.Set(FaultNone, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := readReply(held, 5*time.Second); err != nil {
		t.Fatalf("held request not answered after clear: %v", err)
	}
	if err := runProbe(t, probe); err != nil {
		t.Fatalf("after clear: %v", err)
	}

	const delay = 100 * time.Millisecond
	if err := faults.Set(FaultSlow, delay); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := readReply(sendUDP(t, addr, k.asReq(t, asReq{client: "alice", etypes: []int32{17}})), 5*time.Second); err != nil {
		t.Fatalf("slow KDC: %v", err)
	}
	if took := time.Since(start); took < delay {
		t.Fatalf("slow KDC answered in %s, before its %s delay", took, delay)
	}
}

// A Server stopping while it holds requests returns (it drops them).
func TestFaultHangShutdown(t *testing.T) {
	t.Parallel()
	k := newTestKDC(t)
	faults := &Faults{}
	faults.Set(FaultHang, 0)
	cfg := DefaultConfig()
	cfg.Listen = []string{"127.0.0.1:0"}
	s, err := Listen(cfg, k.h, slog.New(slog.NewTextHandler(io.Discard, nil)), WithFaults(faults))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Serve(ctx); close(done) }()
	c := sendUDP(t, s.Addrs()[0].String(), k.asReq(t, asReq{client: "alice"}))
	waitFor(t, "the request to be held", func() bool { return udpListener(s.Progress()).InFlight == 1 })
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return while a request was held")
	}
	if _, err := readReply(c, 100*time.Millisecond); err == nil {
		t.Fatal("a held request was answered at shutdown")
	}
}
