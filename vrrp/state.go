package vrrp

import (
	"fmt"
	"net/netip"
	"time"
)

// State is a virtual router's protocol state (RFC 5798 section 6.4 plus
// keepalived's FAULT).
type State uint8

const (
	// StateInitialize is the state before Start and after Shutdown.
	StateInitialize State = iota
	// StateBackup monitors the master and takes over when it goes silent.
	StateBackup
	// StateMaster owns the virtual addresses and advertises.
	StateMaster
	// StateFault holds no addresses and ignores advertisements until the
	// fault clears.
	StateFault
)

// String returns the keepalived spelling used in notify arguments.
func (s State) String() string {
	switch s {
	case StateInitialize:
		return "INIT"
	case StateBackup:
		return "BACKUP"
	case StateMaster:
		return "MASTER"
	case StateFault:
		return "FAULT"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Reason says why a transition happened.
type Reason string

// Transition reasons carried by Event.
const (
	ReasonStartup        Reason = "startup"
	ReasonOwner          Reason = "address owner (priority 255)"
	ReasonMasterDown     Reason = "master down timer expired"
	ReasonMasterResigned Reason = "master resigned (priority 0 advertisement)"
	ReasonHigherPriority Reason = "higher priority advertisement"
	ReasonTieBreak       Reason = "equal priority advertisement from higher address"
	ReasonPreempt        Reason = "preempting a lower priority master"
	ReasonFault          Reason = "fault"
	ReasonFaultCleared   Reason = "fault cleared"
	ReasonShutdown       Reason = "shutdown"
	// ReasonSuccessor ends a resigning master's hold: another router
	// advertised, so it has the VIPs now.
	ReasonSuccessor Reason = "shutdown: successor claimed the addresses"
	// ReasonResignTimeout ends a resigning master's hold when no successor
	// advertised within ResignHold.
	ReasonResignTimeout Reason = "shutdown: no successor within the resign hold"
)

// Machine is the state machine of one virtual router. It is pure: it holds
// no goroutine, timer or socket, and time only enters through Step's now, so
// a test drives it with a fake clock. It is not safe for concurrent use; the
// instance runner owns it.
type Machine struct {
	p      Params
	state  State
	delta  int
	faults map[string]string // source -> detail; kept even before Start
	detail string            // the latest fault's detail, for events

	masterAdverInterval time.Duration // learned from the master in v3
	master              netip.Addr    // the current master as far as known
	// heardAt is when this backup last heard its master advertise a
	// priority that does not let it take over; zero if never since start.
	heardAt time.Time

	// Deadlines; zero when not armed.
	masterDownAt time.Time
	downReason   Reason // why masterDownAt is armed (timeout or resign)
	advertAt     time.Time
	garpAt       time.Time
	refreshAt    time.Time
	// preemptAt is when a backup may preempt; zero means no hold is
	// running. It is armed at startup, on leaving FAULT and when this
	// router's priority rises (see startupHold), and with preempt_delay
	// again at the first lower-priority advert after a higher-priority one.
	preemptAt time.Time
	// pendingFrom is the router whose lower-priority advert or resignation
	// armed masterDownAt for an early takeover (downReason ReasonPreempt or
	// ReasonMasterResigned); an advert from it that contradicts that one
	// exposes a forgery.
	pendingFrom netip.Addr
	// resigning is set while a master that was told to shut down keeps its
	// VIPs until a successor claims them or resignUntil passes.
	resigning   bool
	resignUntil time.Time
	// advertMasterAt is when the current mastership began on an advert (a
	// preemption or a resignation); zero otherwise.
	advertMasterAt time.Time
	// holdUntil ends the hold after a flap: until then a backup ignores
	// lower-priority adverts and waits the full down interval after a
	// resignation.
	holdUntil time.Time
	// assertAt is when a master may next answer another master's advert.
	assertAt time.Time
}

// flapHold is how long, after a flap, takeovers that adverts would trigger
// early are held off (the down timer still works). A flap is this router
// taking over on an advert and losing the mastership to a better one
// within a down interval: what forged adverts cause, and rare otherwise.
const flapHold = time.Minute

// NewMachine returns a machine in StateInitialize for p.
func NewMachine(p Params) (*Machine, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &Machine{p: p, masterAdverInterval: p.AdvertInterval, faults: map[string]string{}}, nil
}

// State returns the current state.
func (m *Machine) State() State { return m.state }

// Priority returns the effective priority: the base priority plus the
// tracker delta clamped to 1..254, or 255 for the owner (never adjusted).
func (m *Machine) Priority() uint8 {
	if m.p.Priority == OwnerPriority {
		return OwnerPriority
	}
	return uint8(min(max(int(m.p.Priority)+m.delta, minTrackedPriority), maxTrackedPriority))
}

// Master returns the address of the current master: this router's own
// while MASTER, the sender of the last advertisement heard while BACKUP,
// and the zero Addr when unknown (after a resignation, in INIT or FAULT).
func (m *Machine) Master() netip.Addr { return m.master }

// MasterDownInterval returns the current 3 x Master_Adver_Interval + skew
// (for status output and tests).
func (m *Machine) MasterDownInterval() time.Duration {
	return masterDownInterval(m.p.Version, m.Priority(), m.masterAdverInterval)
}

// Step applies one input at time now and returns what to do and when to
// wake up next.
func (m *Machine) Step(now time.Time, in Input) Output {
	var out Output
	switch in := in.(type) {
	case Start:
		if m.state == StateInitialize {
			m.enterFromIdle(now, &out, ReasonStartup)
		}
	case AdvertReceived:
		out.Discarded = m.advert(now, in, &out)
	case Timeout:
		m.timeout(now, &out)
	case PriorityDelta:
		before := m.Priority()
		m.delta = in.Delta
		switch {
		case m.state == StateMaster && !m.resigning && m.Priority() != before:
			// Tell the backups at once: one that now outranks this master
			// preempts on this advertisement instead of the next one.
			m.sendAdvertNow(now, &out)
		case m.state == StateBackup && m.Priority() > before:
			// A rise means this router recovered: it must stay healthy
			// for a while before it takes the addresses back.
			m.holdPreemption(now)
		}
	case Fault:
		m.faults[in.Source] = in.Detail
		m.detail = in.Detail
		if m.resigning {
			// A node that cannot serve has nothing to keep answering for.
			m.endResign(&out, ReasonShutdown)
			break
		}
		m.fault(&out)
	case FaultCleared:
		delete(m.faults, in.Source)
		if m.state == StateFault && len(m.faults) == 0 {
			m.enterFromIdle(now, &out, ReasonFaultCleared)
		}
	case VIPsRemoved:
		if m.state == StateMaster {
			// keepalived steps down instead; for a KDC the address matters
			// more than who holds it, so the master restores it.
			out.Actions = append(out.Actions, AddVIPs{}, SendGARP{m.p.GARPRepeat})
		}
	case Shutdown:
		m.shutdown(now, &out)
	}
	out.Next = m.next()
	return out
}

// enterFromIdle leaves Initialize or Fault (RFC 5798 section 6.4.1): the
// owner becomes master at once, others backup, and a latched fault wins.
func (m *Machine) enterFromIdle(now time.Time, out *Output, reason Reason) {
	switch {
	case len(m.faults) > 0:
		m.transition(out, StateFault, ReasonFault, m.detail)
	case m.p.Priority == OwnerPriority:
		if reason == ReasonStartup {
			reason = ReasonOwner
		}
		m.becomeMaster(now, out, reason)
	default:
		m.masterAdverInterval = m.p.AdvertInterval
		m.heardAt = time.Time{}
		m.holdPreemption(now)
		m.becomeBackup(now, out, reason)
	}
}

// holdPreemption stops this backup from preempting for the startup hold: a
// router that has just started, left FAULT or recovered its priority first
// listens for one master down interval, so it has heard every live master
// and its own health has had time to settle, and for preempt_delay if that
// is longer (keepalived's delay after startup). Taking over from a dead
// master is not held.
func (m *Machine) holdPreemption(now time.Time) {
	m.preemptAt = now.Add(max(m.p.PreemptDelay, m.MasterDownInterval()))
}

func (m *Machine) becomeMaster(now time.Time, out *Output, reason Reason) {
	m.clearTimers()
	m.advertMasterAt = time.Time{}
	if reason == ReasonPreempt || reason == ReasonMasterResigned {
		m.advertMasterAt = now
	}
	prio := m.Priority()
	// The addresses first (keepalived sends the advert first): a resigning
	// master removes them when it hears this advert, and the VIP must not
	// be on no node in between.
	out.Actions = append(out.Actions, AddVIPs{}, SendAdvert{prio}, SendGARP{m.p.GARPRepeat})
	m.advertAt = now.Add(m.p.AdvertInterval)
	if m.p.GARPDelay > 0 {
		m.garpAt = now.Add(m.p.GARPDelay)
	}
	if m.p.GARPRefresh > 0 {
		m.refreshAt = now.Add(m.p.GARPRefresh)
	}
	m.transition(out, StateMaster, reason, "")
}

func (m *Machine) becomeBackup(now time.Time, out *Output, reason Reason) {
	wasMaster := m.state == StateMaster
	m.clearTimers()
	if wasMaster {
		out.Actions = append(out.Actions, RemoveVIPs{})
	}
	m.armMasterDown(now, m.MasterDownInterval(), ReasonMasterDown)
	m.transition(out, StateBackup, reason, "")
}

// fault enters FAULT from any running state; a master resigns first so the
// backup takes over after its skew time instead of the full down interval.
func (m *Machine) fault(out *Output) {
	switch m.state {
	case StateMaster:
		out.Actions = append(out.Actions, SendAdvert{0}, RemoveVIPs{})
	case StateBackup:
	default:
		return // Initialize: latched for Start; Fault: already there.
	}
	m.clearTimers()
	m.transition(out, StateFault, ReasonFault, m.detail)
}

// shutdown stops the protocol. A master resigns (priority-0 advert) and,
// with a ResignHold, keeps its VIPs until a successor advertises or the
// hold ends, so clients of the VIP always find someone answering; a second
// Shutdown ends the hold at once.
func (m *Machine) shutdown(now time.Time, out *Output) {
	switch {
	case m.state == StateInitialize:
		return
	case m.resigning:
		m.endResign(out, ReasonShutdown)
		return
	case m.state == StateMaster && m.p.ResignHold > 0:
		m.clearTimers()
		m.resigning = true
		m.resignUntil = now.Add(m.p.ResignHold)
		out.Actions = append(out.Actions, SendAdvert{0})
		// Repeated every interval: one lost resignation must not leave the
		// backups waiting for the down timer.
		m.advertAt = now.Add(m.p.AdvertInterval)
		return
	case m.state == StateMaster:
		out.Actions = append(out.Actions, SendAdvert{0}, RemoveVIPs{})
	}
	m.clearTimers()
	m.transition(out, StateInitialize, ReasonShutdown, "")
}

// endResign ends a resigning master's hold: the VIPs go and the machine
// stops.
func (m *Machine) endResign(out *Output, reason Reason) {
	m.resigning = false
	m.clearTimers()
	out.Actions = append(out.Actions, RemoveVIPs{})
	m.transition(out, StateInitialize, reason, "")
}

// Resigning reports whether a master that was told to shut down still
// holds its VIPs, waiting for a successor.
func (m *Machine) Resigning() bool { return m.resigning }

// timeout fires every deadline that is due at now.
func (m *Machine) timeout(now time.Time, out *Output) {
	due := func(t time.Time) bool { return !t.IsZero() && !now.Before(t) }
	switch m.state {
	case StateBackup:
		if due(m.masterDownAt) {
			m.becomeMaster(now, out, m.downReason)
		}
	case StateMaster:
		if m.resigning {
			if due(m.resignUntil) {
				m.endResign(out, ReasonResignTimeout)
			} else if due(m.advertAt) {
				out.Actions = append(out.Actions, SendAdvert{0})
				m.advertAt = now.Add(m.p.AdvertInterval)
			}
			return
		}
		if due(m.advertAt) {
			out.Actions = append(out.Actions, SendAdvert{m.Priority()})
			m.advertAt = now.Add(m.p.AdvertInterval)
		}
		if due(m.garpAt) {
			out.Actions = append(out.Actions, SendGARP{m.p.GARPRepeat})
			m.garpAt = time.Time{}
		}
		if due(m.refreshAt) {
			out.Actions = append(out.Actions, SendGARP{1})
			m.refreshAt = now.Add(m.p.GARPRefresh)
		}
	}
}

func (m *Machine) armMasterDown(now time.Time, d time.Duration, reason Reason) {
	m.masterDownAt = now.Add(d)
	m.downReason = reason
	m.pendingFrom = netip.Addr{}
}

// armTakeover arms an early takeover that src's advert triggered.
func (m *Machine) armTakeover(now time.Time, d time.Duration, reason Reason, src netip.Addr) {
	m.armMasterDown(now, d, reason)
	m.pendingFrom = src
}

// takeoverPendingFrom reports whether an early takeover armed by src's
// advert is waiting.
func (m *Machine) takeoverPendingFrom(src netip.Addr) bool {
	return m.pendingFrom.IsValid() && m.pendingFrom == src && !m.masterDownAt.IsZero()
}

func (m *Machine) clearTimers() {
	m.masterDownAt, m.advertAt, m.garpAt, m.refreshAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	m.resignUntil, m.pendingFrom = time.Time{}, netip.Addr{}
}

func (m *Machine) transition(out *Output, to State, reason Reason, detail string) {
	from := m.state
	m.state = to
	m.master = netip.Addr{} // a backup learns it from the next advert
	if to == StateMaster {
		m.master = m.p.PrimaryIP
	}
	out.Actions = append(out.Actions, Event{State: to, Previous: from, Priority: m.Priority(), Reason: reason, Detail: detail})
}

// next returns the earliest armed deadline, or zero.
func (m *Machine) next() time.Time {
	var n time.Time
	for _, t := range []time.Time{m.masterDownAt, m.advertAt, m.garpAt, m.refreshAt, m.resignUntil} {
		if !t.IsZero() && (n.IsZero() || t.Before(n)) {
			n = t
		}
	}
	return n
}
