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
	track := TrackReadiness(set, ModeKDC)
	for _, p := range []Phase{PhaseStarting, PhaseServing, PhaseCatchingUp, PhaseAwaitingVerdict} {
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
