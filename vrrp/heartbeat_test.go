package vrrp

import (
	"context"
	"testing"
	"time"
)

// TestInstanceHeartbeat: the protocol loop beats while it has nothing to
// do (FAULT: no adverts, no timer), and stops beating while it is stuck
// (here in an OnEvent callback that blocks), so a supervisor can tell the
// two apart; it beats again once unstuck.
func TestInstanceHeartbeat(t *testing.T) {
	const every = 5 * time.Millisecond
	beats := make(chan struct{}, 1)
	stuck := make(chan struct{})   // closed by the test to unblock OnEvent
	inFault := make(chan struct{}) // closed by OnEvent on entering FAULT
	cfg := fastConfig()
	cfg.AdvertInterval = 40 * time.Second // no advert or timer wakes the loop
	in, err := NewInstance(cfg, ownIP, InstanceDeps{Transport: newFakeTransport(), Addresses: &fakeAddrs{}, Log: testLogger(t),
		OnEvent: func(e InstanceEvent) {
			if e.State == StateFault {
				close(inFault)
				<-stuck
			}
		},
		Heartbeat: func() {
			select {
			case beats <- struct{}{}:
			default:
			}
		},
		HeartbeatInterval: every,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- in.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	waitBeats := func(what string) {
		t.Helper()
		for range 3 { // three beats: the ticker, not one late iteration
			select {
			case <-beats:
			case <-time.After(5 * time.Second):
				t.Fatalf("%s: no heartbeat within 5s", what)
			}
		}
	}
	waitBeats("BACKUP with nothing to do")

	go in.SetFault(ctx, "health", "test")
	<-inFault
	// The loop is blocked in OnEvent: a beat sent before is drained, and
	// none can follow while it is.
	select {
	case <-beats:
	default:
	}
	select {
	case <-beats:
		t.Fatal("a stuck loop beat")
	case <-time.After(20 * every):
	}
	close(stuck)
	waitBeats("FAULT, unstuck")
}

func TestInstanceHeartbeatNeedsInterval(t *testing.T) {
	_, err := NewInstance(fastConfig(), ownIP, InstanceDeps{Transport: newFakeTransport(), Addresses: &fakeAddrs{}, Heartbeat: func() {}})
	if err == nil {
		t.Fatal("a heartbeat without an interval was accepted")
	}
}
