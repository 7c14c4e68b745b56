package vrrp

import (
	"context"
	"slices"
	"testing"
	"time"
)

// startFakeMaster runs cfg against fakes until it is MASTER, and returns it
// with the context cancel that starts its shutdown.
func startFakeMaster(t *testing.T, cfg InstanceConfig) (*fakeInstance, context.CancelFunc) {
	t.Helper()
	f := startFakeInstance(t, cfg)
	cancel := f.cancel
	f.cancel = nil // the test stops it, and checks how
	t.Cleanup(cancel)
	for e := f.nextEvent(t); e.State != StateMaster; e = f.nextEvent(t) {
	}
	return f, cancel
}

// waitResignation reads sent adverts until the priority-0 one.
func waitResignation(t *testing.T, f *fakeInstance) {
	t.Helper()
	for {
		select {
		case s := <-f.tr.sent:
			if s.p.Priority == 0 {
				return
			}
		case <-time.After(2 * time.Second):
			t.Fatal("no priority-0 advert within 2s of the stop")
		}
	}
}

// TestRunKeepsVIPsUntilSuccessor: a master told to stop resigns but keeps
// its VIPs, and Run does not return, until another router advertises;
// then the VIPs go and Run returns. Before, Run removed the VIPs at once and
// nobody answered on the VIP until the backup's skew time had passed.
func TestRunKeepsVIPsUntilSuccessor(t *testing.T) {
	cfg := fastConfig()
	cfg.ResignHold = 10 * time.Second // far beyond the test: only the successor may end it
	f, cancel := startFakeMaster(t, cfg)
	cancel()
	waitResignation(t, f)
	if calls := f.addrs.get(); slices.Contains(calls[1:], "remove") {
		t.Fatalf("address calls after the resignation %v: VIPs removed before a successor claimed", calls)
	}
	select {
	case err := <-f.errc:
		t.Fatalf("Run returned (%v) before a successor claimed", err)
	default:
	}
	if st := f.inst.Status(); st.State != StateMaster {
		t.Errorf("resigning instance reports %v, want MASTER (it still holds the VIPs)", st.State)
	}
	f.tr.in <- advertFrom(higherIP, 51, 50)
	select {
	case err := <-f.errc:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return after the successor advertised")
	}
	if calls := f.addrs.get(); calls[len(calls)-1] != "remove" {
		t.Errorf("address calls %v, want the VIPs removed last", calls)
	}
	if e := f.nextEvent(t); e.State != StateInitialize || e.Reason != ReasonSuccessor {
		t.Errorf("last event %+v, want INIT because the successor claimed", e)
	}
}

// TestRunResignHoldBounded: with no successor, Run removes the VIPs and
// returns once resign_hold has passed, not before.
func TestRunResignHoldBounded(t *testing.T) {
	t.Parallel()
	cfg := fastConfig()
	cfg.ResignHold = 150 * time.Millisecond
	f, cancel := startFakeMaster(t, cfg)
	start := time.Now()
	cancel()
	select {
	case err := <-f.errc:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Run did not return after the resign hold")
	}
	if took := time.Since(start); took < cfg.ResignHold {
		t.Errorf("Run returned %v after the stop, before the %v resign hold", took, cfg.ResignHold)
	}
	if e := f.nextEvent(t); e.State != StateInitialize || e.Reason != ReasonResignTimeout {
		t.Errorf("last event %+v, want INIT at the end of the hold", e)
	}
	// The resignation was repeated every interval meanwhile.
	zeros := 0
	for len(f.tr.sent) > 0 {
		if s := <-f.tr.sent; s.p.Priority == 0 {
			zeros++
		}
	}
	if zeros < 2 {
		t.Errorf("%d priority-0 adverts during a hold of 7 intervals, want it repeated", zeros)
	}
}

// TestSetMuted: a muted instance sends nothing, even when it becomes
// MASTER, and sends again once unmuted.
func TestSetMuted(t *testing.T) {
	f := startFakeInstance(t, fastConfig())
	f.inst.SetMuted(true)
	// The instance starts BACKUP and, hearing nobody, goes MASTER: the
	// advert that goes with it comes before the event.
	for e := f.nextEvent(t); e.State != StateMaster; e = f.nextEvent(t) {
	}
	for len(f.tr.sent) > 0 {
		// Only an advert sent before SetMuted took effect can be here,
		// and the instance was BACKUP then, which sends none.
		t.Fatalf("muted instance sent %+v", (<-f.tr.sent).p)
	}
	if v := metricValue(t, f.reg, "kdcha_vrrp_adverts_sent_total", map[string]string{"instance": "VI_T"}); v > 0 {
		t.Errorf("kdcha_vrrp_adverts_sent_total = %v while muted, want 0", v)
	}
	f.inst.SetMuted(false)
	select {
	case s := <-f.tr.sent:
		if s.p.Priority != 100 {
			t.Errorf("advert after unmuting has priority %d, want 100", s.p.Priority)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no advert within 2s of unmuting")
	}
}
