package node

import (
	"testing"

	"github.com/kdcha/kdcha/internal/readiness"
)

// TestTrackReadiness: the node is ready only once Start reached running
// (KDC listening, replica caught up, first verdict in), and not after a
// stop began.
func TestTrackReadiness(t *testing.T) {
	set := readiness.New(readiness.Options{})
	readyOnlyWhenRunning(t, set, TrackReadiness(set, ModeKDC), PhaseStarting, PhaseServing, PhaseCatchingUp, PhaseAwaitingVerdict)
}

// readyOnlyWhenRunning drives track through the phases before running
// (not ready), running (ready) and stopping (not ready again).
func readyOnlyWhenRunning(t *testing.T, set *readiness.Set, track func(Phase), before ...Phase) {
	t.Helper()
	for _, p := range before {
		track(p)
		if set.Ready() {
			t.Fatalf("ready at phase %s", p)
		}
	}
	track(PhaseRunning)
	if !set.Ready() {
		t.Fatalf("not ready when running: %s", set.Report().Summary())
	}
	track(PhaseStopping)
	if set.Ready() {
		t.Fatal("still ready while stopping")
	}
}
