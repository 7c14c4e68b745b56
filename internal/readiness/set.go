package readiness

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Names of the startup conditions the agent declares. A condition's name
// is part of the JSON report, so these are stable.
const (
	// KDCListening: the KDC's sockets are bound and serving.
	KDCListening = "kdc_listening"
	// ReplicaCaughtUp: the local replica has applied the log up to the
	// leader's commit index as of startup.
	ReplicaCaughtUp = "replica_caught_up"
	// FirstHealthVerdict: the health checks have reached a verdict (up or
	// down) at least once, so the VRRP priority is no longer a guess.
	FirstHealthVerdict = "first_health_verdict"
)

// Options are the Set's dependencies.
type Options struct {
	// Now reads the clock for heartbeats and timestamps; nil means
	// time.Now.
	Now func() time.Time
}

// Set holds a node's conditions and liveness loops. It is safe for
// concurrent use.
type Set struct {
	now func() time.Time

	mu    sync.Mutex
	conds []*Condition
	loops []*Loop
	subs  []chan struct{}
}

// New returns a Set with no conditions and no loops: ready and alive until
// something is declared.
func New(opts Options) *Set {
	s := &Set{now: opts.Now}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// Condition is one startup requirement, met or not, with the reason.
type Condition struct {
	set    *Set
	name   string
	met    bool
	reason string
	since  time.Time
}

// Condition declares a condition, not met, with reason saying what it
// waits for. Declaring a name twice returns the existing condition
// unchanged, so a reload may declare again what it needs.
func (s *Set) Condition(name, reason string) *Condition {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := slices.IndexFunc(s.conds, func(c *Condition) bool { return c.name == name }); i >= 0 {
		return s.conds[i]
	}
	c := &Condition{set: s, name: name, reason: reason, since: s.now()}
	s.conds = append(s.conds, c)
	s.changedLocked()
	return c
}

// Set marks the condition met, with the reason (for example "listening on
// 192.0.2.1:88").
func (c *Condition) Set(reason string) { c.update(true, reason) }

// Clear marks the condition not met, with the reason.
func (c *Condition) Clear(reason string) { c.update(false, reason) }

func (c *Condition) update(met bool, reason string) {
	s := c.set
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.met == met && c.reason == reason {
		return
	}
	if c.met != met {
		c.since = s.now()
	}
	c.met, c.reason = met, reason
	s.changedLocked()
}

// Loop is one essential loop whose heartbeats prove the node alive. A
// loop that may legitimately wait a long time for its next event (a VRRP
// instance in FAULT, a health runner between slow checks) should beat from
// a ticker case in its own select, at a third of its budget or more
// often: what is proved is that the goroutine still comes round its
// select, not that events arrive.
type Loop struct {
	set    *Set
	name   string
	budget time.Duration
	last   time.Time
}

// Loop declares a loop that must beat at least once per budget. Its clock
// starts now: a loop that never beats goes silent after one budget.
// Declaring a name twice returns the existing loop with the new budget.
func (s *Set) Loop(name string, budget time.Duration) *Loop {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := slices.IndexFunc(s.loops, func(l *Loop) bool { return l.name == name }); i >= 0 {
		s.loops[i].budget = budget
		return s.loops[i]
	}
	l := &Loop{set: s, name: name, budget: budget, last: s.now()}
	s.loops = append(s.loops, l)
	s.changedLocked()
	return l
}

// Beat records that the loop made progress. It is cheap enough to call on
// every iteration of the loop.
func (l *Loop) Beat() {
	l.set.mu.Lock()
	l.last = l.set.now()
	l.set.mu.Unlock()
}

// Stop removes the loop, for a loop that ends on purpose (an instance
// removed by a reload, a shutdown); a stopped loop no longer counts.
func (l *Loop) Stop() {
	s := l.set
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loops = slices.DeleteFunc(s.loops, func(x *Loop) bool { return x == l })
	s.changedLocked()
}

// Subscribe returns a channel that receives a value after any condition
// changes or a loop is declared or stopped; changes that happen while a
// value is pending are coalesced. A loop going silent is not an event (it
// is the absence of one): watch Alive on a timer.
func (s *Set) Subscribe() <-chan struct{} {
	ch := make(chan struct{}, 1)
	s.mu.Lock()
	s.subs = append(s.subs, ch)
	s.mu.Unlock()
	return ch
}

func (s *Set) changedLocked() {
	for _, ch := range s.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// Ready reports whether the node is alive and every condition is met.
func (s *Set) Ready() bool { return s.Report().Ready }

// Alive reports whether every loop beat within its budget.
func (s *Set) Alive() bool { return s.Report().Alive }

// Report is the JSON body of /healthz and /readyz.
type Report struct {
	// Ready is Alive and every condition met.
	Ready bool `json:"ready"`
	// Alive is every loop within its budget.
	Alive bool `json:"alive"`
	// Conditions are the startup conditions in declaration order.
	Conditions []ConditionStatus `json:"conditions"`
	// Loops are the liveness loops in declaration order.
	Loops []LoopStatus `json:"loops"`
}

// ConditionStatus is one condition in a Report.
type ConditionStatus struct {
	Name   string `json:"name"`
	Met    bool   `json:"met"`
	Reason string `json:"reason"`
	// Since is when the condition last changed between met and not met.
	Since time.Time `json:"since"`
}

// LoopStatus is one loop in a Report.
type LoopStatus struct {
	Name  string `json:"name"`
	Alive bool   `json:"alive"`
	// SilentSeconds is the time since the last heartbeat.
	SilentSeconds float64 `json:"silent_seconds"`
	// BudgetSeconds is the longest silence that still counts as alive.
	BudgetSeconds float64 `json:"budget_seconds"`
	Reason        string  `json:"reason"`
}

// Report returns the current state, evaluated now.
func (s *Set) Report() Report {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	r := Report{Alive: true, Conditions: []ConditionStatus{}, Loops: []LoopStatus{}}
	allMet := true
	for _, c := range s.conds {
		allMet = allMet && c.met
		r.Conditions = append(r.Conditions, ConditionStatus{Name: c.name, Met: c.met, Reason: c.reason, Since: c.since})
	}
	for _, l := range s.loops {
		silent := now.Sub(l.last)
		ls := LoopStatus{Name: l.name, Alive: silent <= l.budget, SilentSeconds: silent.Seconds(), BudgetSeconds: l.budget.Seconds()}
		if ls.Alive {
			ls.Reason = "beating"
		} else {
			ls.Reason = fmt.Sprintf("no heartbeat for %v (budget %v)", silent.Round(time.Millisecond), l.budget)
		}
		r.Alive = r.Alive && ls.Alive
		r.Loops = append(r.Loops, ls)
	}
	r.Ready = r.Alive && allMet
	return r
}

// Summary is a one-line human text for systemd's STATUS=: "ready", or
// what is missing. It names silent loops without their silence, so the
// text changes only when the state does.
func (r Report) Summary() string {
	var stalled, waiting []string
	for _, l := range r.Loops {
		if !l.Alive {
			stalled = append(stalled, l.Name)
		}
	}
	for _, c := range r.Conditions {
		if !c.Met {
			waiting = append(waiting, c.Name+" ("+c.Reason+")")
		}
	}
	var parts []string
	if len(stalled) > 0 {
		parts = append(parts, "stalled: "+strings.Join(stalled, ", "))
	}
	if len(waiting) > 0 {
		parts = append(parts, "waiting for "+strings.Join(waiting, ", "))
	}
	if len(parts) == 0 {
		return "ready"
	}
	return strings.Join(parts, "; ")
}
