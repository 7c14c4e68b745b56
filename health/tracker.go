package health

import (
	"fmt"
	"time"
)

// State is the tracked state of one check.
type State int

// Tracker states.
const (
	// StateInit: no result yet and init_fail is off. It counts as "not up"
	// for the priority (as in keepalived, where the initial counter is
	// rise-1), but a single success brings the check up.
	StateInit State = iota
	// StateUp: the check is healthy.
	StateUp
	// StateDown: the check failed `fall` times in a row (or once from
	// StateInit) and has not yet succeeded `rise` times in a row.
	StateDown
)

// String returns "init", "up" or "down".
func (s State) String() string {
	switch s {
	case StateInit:
		return "init"
	case StateUp:
		return "up"
	case StateDown:
		return "down"
	}
	return fmt.Sprintf("state(%d)", int(s))
}

// TrackParams are the keepalived vrrp_script knobs of one check.
type TrackParams struct {
	// Rise is the number of consecutive successes that bring a down check up.
	Rise int
	// Fall is the number of consecutive failures that bring an up check down.
	Fall int
	// Weight is the priority contribution: > 0 is added while up, < 0 is
	// added (subtracted) while not up, 0 means FAULT while not up.
	Weight int
	// InitFail starts the check down, so it needs Rise successes to come up,
	// instead of in StateInit where one success is enough.
	InitFail bool
}

// Status is a snapshot of one tracker.
type Status struct {
	// Name is the check's name.
	Name string
	// State is the tracked state.
	State State
	// Since is when State was entered (the tracker's creation for the
	// initial state).
	Since time.Time
	// LastRun is when the last counted result was observed (zero if none).
	LastRun time.Time
	// Weight is the configured weight.
	Weight int
	// Delta is this check's contribution to the VRRP priority.
	Delta int
	// Fault is set when Weight is 0 and the check is not up.
	Fault bool
	// Failures is the number of consecutive failed runs (0 after a success).
	Failures int
	// LastErr is the error of the last run if it failed, else nil.
	LastErr error
}

// Tracker applies keepalived's vrrp_script rise/fall/weight rules to a
// stream of results. It is pure: time comes in with each observation. It is
// not safe for concurrent use.
type Tracker struct {
	name  string
	p     TrackParams
	state State
	// counter is keepalived's vscript->result: the check is up iff
	// counter >= Rise; it ranges over [0, Rise+Fall-1], so from fully up it
	// takes Fall failures to drop below Rise and from 0 Rise successes to
	// reach it.
	counter  int
	since    time.Time
	lastRun  time.Time
	failures int
	lastErr  error
}

// NewTracker returns a tracker in its initial state (StateInit, or StateDown
// with InitFail). Rise and Fall below 1 are treated as 1.
func NewTracker(name string, p TrackParams, now time.Time) *Tracker {
	p.Rise = max(p.Rise, 1)
	p.Fall = max(p.Fall, 1)
	t := &Tracker{name: name, p: p, since: now}
	if p.InitFail {
		t.state = StateDown
		t.counter = 0
	} else {
		t.state = StateInit
		t.counter = p.Rise - 1
	}
	return t
}

// Observe feeds one result and returns the new status and whether the state
// changed. Skipped results are ignored, as keepalived ignores skipped runs.
func (t *Tracker) Observe(r Result, now time.Time) (Status, bool) {
	if r.Skipped {
		return t.Status(), false
	}
	prev := t.state
	t.lastRun = now
	top := t.p.Rise + t.p.Fall - 1
	if r.OK() {
		t.failures = 0
		t.lastErr = nil
		switch {
		case t.counter < t.p.Rise-1:
			t.counter++
		default:
			if t.counter < t.p.Rise {
				t.state = StateUp
			}
			// Any success while up forgets earlier failures.
			t.counter = top
		}
	} else {
		t.failures++
		t.lastErr = r.Err
		switch {
		case t.counter > t.p.Rise:
			t.counter--
		default:
			if t.counter == t.p.Rise || t.state == StateInit {
				t.state = StateDown
			}
			// A failure while down restarts the rise count.
			t.counter = 0
		}
	}
	if t.state != prev {
		t.since = now
	}
	return t.Status(), t.state != prev
}

// Status returns the current snapshot.
func (t *Tracker) Status() Status {
	s := Status{
		Name:     t.name,
		State:    t.state,
		Since:    t.since,
		LastRun:  t.lastRun,
		Weight:   t.p.Weight,
		Failures: t.failures,
		LastErr:  t.lastErr,
	}
	up := t.state == StateUp
	switch {
	case t.p.Weight > 0 && up:
		s.Delta = t.p.Weight
	case t.p.Weight < 0 && !up:
		s.Delta = t.p.Weight
	case t.p.Weight == 0 && !up:
		s.Fault = true
	}
	return s
}
