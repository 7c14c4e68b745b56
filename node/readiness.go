package node

import "github.com/kdcha/kdcha/internal/readiness"

// TrackReadiness declares the startup conditions of a node of mode on set
// and returns the OnPhase callback that meets them as Start goes through
// its phases (the KDC listens, the replica caught up, the first health
// verdict is in; a node of mode keepalived has only the last) and clears
// them all when the node stops, so /readyz and systemd's READY=1 say
// exactly when the node may take a VIP.
func TrackReadiness(set *readiness.Set, mode Mode) func(Phase) {
	conds := map[string]*readiness.Condition{}
	for _, name := range mode.readinessConditions() {
		conds[name] = set.Condition(name, "starting")
	}
	// update meets or clears a condition the mode has.
	update := func(name string, met bool, reason string) {
		switch c := conds[name]; {
		case c == nil:
		case met:
			c.Set(reason)
		default:
			c.Clear(reason)
		}
	}
	return func(p Phase) {
		switch p {
		case PhaseServing:
			update(readiness.KDCListening, true, "serving")
		case PhaseCatchingUp:
			update(readiness.ReplicaCaughtUp, false, "applying what the leader committed")
		case PhaseAwaitingVerdict:
			update(readiness.ReplicaCaughtUp, true, "caught up")
			update(readiness.FirstHealthVerdict, false, "waiting for the first health verdict")
		case PhaseRunning:
			update(readiness.ReplicaCaughtUp, true, "caught up")
			update(readiness.FirstHealthVerdict, true, "health verdict in; VRRP running")
		case PhaseStopping, PhaseStopped:
			for _, c := range conds {
				c.Clear(string(p))
			}
		}
	}
}
