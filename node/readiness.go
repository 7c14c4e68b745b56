package node

import "github.com/kdcha/kdcha/internal/readiness"

// TrackReadiness declares the node's startup conditions on set and returns
// the OnPhase callback that meets them as Start goes through its phases
// (the KDC listens, the replica caught up, the first health verdict is in)
// and clears them all when the node stops, so /readyz and systemd's
// READY=1 say exactly when the node may take a VIP.
func TrackReadiness(set *readiness.Set) func(Phase) {
	listening := set.Condition(readiness.KDCListening, "starting")
	caughtUp := set.Condition(readiness.ReplicaCaughtUp, "starting")
	verdict := set.Condition(readiness.FirstHealthVerdict, "starting")
	return func(p Phase) {
		switch p {
		case PhaseServing:
			listening.Set("serving")
		case PhaseCatchingUp:
			caughtUp.Clear("applying what the leader committed")
		case PhaseAwaitingVerdict:
			caughtUp.Set("caught up")
			verdict.Clear("waiting for the first health verdict")
		case PhaseRunning:
			caughtUp.Set("caught up")
			verdict.Set("health verdict in; VRRP running")
		case PhaseStopping, PhaseStopped:
			for _, c := range []*readiness.Condition{listening, caughtUp, verdict} {
				c.Clear(string(p))
			}
		}
	}
}
