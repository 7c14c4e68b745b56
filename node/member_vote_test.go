package node

import (
	"errors"
	"testing"
	"time"

	"github.com/kdcha/kdcha/kdc/db"
)

// TestReadyToVote: a joined non-voter asks for its promotion only once it
// has heard from the leader, or after leaderContactWait (an admission that
// failed half-way never brings contact).
func TestReadyToVote(t *testing.T) {
	heard := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name   string
		st     db.ClusterStatus
		waited time.Duration
		ready  bool
	}{
		{"just started, nothing heard", db.ClusterStatus{}, 0, false},
		{"leader known from a restart, never heard", db.ClusterStatus{LeaderID: "n1"}, time.Second, false},
		{"heard from the leader", db.ClusterStatus{LeaderID: "n1", LastContact: heard}, 0, true},
		{"still nothing just before the bound", db.ClusterStatus{}, leaderContactWait - time.Millisecond, false},
		{"nothing after the bound", db.ClusterStatus{}, leaderContactWait, true},
	} {
		err := readyToVote(tt.st, tt.waited)
		if got := err == nil; got != tt.ready {
			t.Errorf("%s: readyToVote = %v, want ready %v", tt.name, err, tt.ready)
		}
		if err != nil && !errors.Is(err, errNoLeaderContact) {
			t.Errorf("%s: %v is not errNoLeaderContact", tt.name, err)
		}
	}
}
