package node

import (
	"context"
	"time"

	"github.com/kdcha/kdcha/health"
	"github.com/kdcha/kdcha/notify"
)

// Node-level notifications: besides its VRRP transitions, a node reports
// its own health checks going DOWN or coming UP (whatever its VRRP state),
// the Raft leader it follows changing, and losing or regaining contact with
// any leader (quorum). They go to the same sinks as the VRRP transitions
// (notify.Type says which), through the same non-blocking Publish.

// quorumGrace is how long a node must hear no Raft leader before it
// reports the quorum LOST: an election takes a second or two, and must not
// page anyone.
const quorumGrace = 5 * time.Second

// nodeEventsPoll is how often the node's health and Raft views are read.
// A check flapping faster than this is not reported (its rise and fall
// counts make that unlikely); a leader change is.
const nodeEventsPoll = 250 * time.Millisecond

// nodeObservation is what the node sees at one instant.
type nodeObservation struct {
	// checks are the health checks' states (nil before the runner starts).
	checks []health.Status
	// leader is the Raft leader this node follows ("" if none).
	leader string
	// clustered is false for a cluster of one, which never loses quorum.
	clustered bool
}

// nodeEvents turns successive observations into the node-level events. It
// is a pure state machine: time is an input, and observe returns what to
// publish, in order.
type nodeEvents struct {
	grace time.Duration
	// checks is each check's last UP or DOWN (a check still without a
	// verdict is not in it).
	checks map[string]health.State
	// leader is the last leader followed ("" before the first).
	leader string
	// noLeaderSince is when the node stopped hearing a leader (zero while
	// it hears one); lost is set once that lasted grace.
	noLeaderSince time.Time
	lost          bool
}

func newNodeEvents(grace time.Duration) *nodeEvents {
	return &nodeEvents{grace: grace, checks: map[string]health.State{}}
}

// observe returns the events that o, seen at now, makes. The first
// definite state of a check is reported only when it is DOWN (a node that
// starts healthy says nothing); the first leader is not a change.
func (w *nodeEvents) observe(now time.Time, o nodeObservation) []notify.Event {
	var out []notify.Event
	if o.clustered {
		out = append(out, w.raft(now, o.leader)...)
	}
	for _, s := range o.checks {
		if s.State != health.StateUp && s.State != health.StateDown {
			continue
		}
		prev, seen := w.checks[s.Name]
		w.checks[s.Name] = s.State
		if prev == s.State || (!seen && s.State == health.StateUp) {
			continue
		}
		ev := notify.Event{Type: notify.TypeHealth, Check: s.Name, State: notify.StateUp, Time: now, Reason: "check passes again"}
		if s.State == health.StateDown {
			ev.State, ev.Reason = notify.StateDown, "check failing"
			if s.LastErr != nil {
				ev.Reason += ": " + s.LastErr.Error()
			}
		}
		out = append(out, ev)
	}
	return out
}

// raft returns the quorum and leader events of seeing leader at now.
func (w *nodeEvents) raft(now time.Time, leader string) []notify.Event {
	if leader == "" {
		if w.noLeaderSince.IsZero() {
			w.noLeaderSince = now
		}
		if w.lost || now.Sub(w.noLeaderSince) < w.grace {
			return nil
		}
		w.lost = true
		return []notify.Event{{Type: notify.TypeQuorum, State: notify.StateLost, Time: now,
			Reason: "no raft leader heard for " + now.Sub(w.noLeaderSince).Round(time.Second).String()}}
	}
	var out []notify.Event
	if w.lost {
		out = append(out, notify.Event{Type: notify.TypeQuorum, State: notify.StateRestored, Time: now,
			Reason: "following raft leader " + leader + " after " + now.Sub(w.noLeaderSince).Round(time.Second).String() + " without one"})
	}
	w.lost, w.noLeaderSince = false, time.Time{}
	if w.leader != "" && leader != w.leader {
		out = append(out, notify.Event{Type: notify.TypeLeader, State: notify.StateChanged, Leader: leader, PreviousLeader: w.leader, Time: now,
			Reason: "raft leader is now " + leader})
	}
	w.leader = leader
	return out
}

// watchNodeEvents publishes the events of the node's state, observed
// every nodeEventsPoll, until ctx ends. The node runs it only while it is
// running: startup and shutdown are not events.
func watchNodeEvents(ctx context.Context, observe func() nodeObservation, publish func(notify.Event)) {
	w := newNodeEvents(quorumGrace)
	t := time.NewTicker(nodeEventsPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			for _, ev := range w.observe(now, observe()) {
				publish(ev)
			}
		}
	}
}

// observeNode is what the node-level events are made of: the health
// checks' states and, with a database in a cluster, the Raft leader.
func (n *Node) observeNode() nodeObservation {
	o := nodeObservation{clustered: n.parts.clustered && n.parts.leaderID != nil}
	if o.clustered {
		o.leader = n.parts.leaderID()
	}
	if h := n.live.healthSource(); h != nil {
		o.checks = h.Statuses()
	}
	return o
}

// healthSource is the current health runner, if one runs.
func (l *liveStatus) healthSource() verdictSource {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.health
}

// publishNodeEvent publishes ev to the current sinks (a reload may be
// replacing them).
func (n *Node) publishNodeEvent(ev notify.Event) {
	n.notifierMu.RLock()
	defer n.notifierMu.RUnlock()
	n.notifier.Publish(ev)
}
