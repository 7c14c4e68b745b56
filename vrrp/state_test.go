package vrrp

import (
	"errors"
	"net/netip"
	"reflect"
	"testing"
	"time"
)

var (
	t0       = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ownIP    = netip.MustParseAddr("192.0.2.5")
	higherIP = netip.MustParseAddr("192.0.2.9")
	lowerIP  = netip.MustParseAddr("192.0.2.2")
)

// Master down intervals at a 1 s advertisement interval, computed by hand
// from 3 x 1 s + (256 - prio) x 1 000 000 us / 256 (integer microseconds).
const (
	mdi100 = 3*time.Second + 609375*time.Microsecond // keepalived's "3.61 s"
	mdi150 = 3*time.Second + 414062*time.Microsecond
	mdi254 = 3*time.Second + 7812*time.Microsecond
	mdi255 = 3*time.Second + 3906*time.Microsecond
	skew1  = 996093 * time.Microsecond // priority 1
	skew99 = 613281 * time.Microsecond // priority 99
	sk100  = 609375 * time.Microsecond
	sk150  = 414062 * time.Microsecond
)

func baseParams() Params {
	return Params{VRID: 51, Version: Version3, Priority: 100, AdvertInterval: time.Second,
		PrimaryIP: ownIP, GARPRepeat: 5}
}

// none marks a step after which no timer is armed.
const none = time.Duration(-1)

type step struct {
	at        time.Duration // fake clock, since t0
	in        Input
	want      []Action
	state     State
	next      time.Duration // since t0, or none
	discarded error
}

func ev(to, from State, prio uint8, r Reason) Event {
	return Event{State: to, Previous: from, Priority: prio, Reason: r}
}

func adv(src netip.Addr, prio uint8) AdvertReceived {
	return AdvertReceived{Src: src, Priority: prio, Interval: time.Second}
}

// becomeMaster is the action list of a transition to MASTER.
func becomeMaster(prio uint8, from State, r Reason) []Action {
	return []Action{AddVIPs{}, SendAdvert{prio}, SendGARP{5}, ev(StateMaster, from, prio, r)}
}

var (
	startBackup = step{0, Start{}, []Action{ev(StateBackup, StateInitialize, 100, ReasonStartup)}, StateBackup, mdi100, nil}
)

// toMaster returns the steps that take a priority-100 instance to MASTER at
// time mdi100 via the master down timer.
func toMaster() []step {
	return []step{
		startBackup,
		{mdi100, Timeout{}, becomeMaster(100, StateBackup, ReasonMasterDown), StateMaster, mdi100 + time.Second, nil},
	}
}

func then(prefix []step, rest ...step) []step {
	return append(append([]step(nil), prefix...), rest...)
}

func TestMachine(t *testing.T) {
	m1 := mdi100 + time.Second // first advert deadline after toMaster
	tests := []struct {
		name   string
		params func(*Params)
		steps  []step
	}{
		// RFC 5798 6.4.1 Initialize.
		{"6.4.1 startup non-owner goes backup", nil, []step{startBackup}},
		{"6.4.1 startup owner goes master at once", func(p *Params) { p.Priority = 255 }, []step{
			{0, Start{}, becomeMaster(255, StateInitialize, ReasonOwner), StateMaster, time.Second, nil},
		}},
		{"6.4.1 initialize ignores adverts, timeouts, shutdown, repeated start", nil, []step{
			{0, adv(higherIP, 200), nil, StateInitialize, none, nil},
			{time.Second, Timeout{}, nil, StateInitialize, none, nil},
			{time.Second, Shutdown{}, nil, StateInitialize, none, nil},
			startBackup,
			{time.Second, Start{}, nil, StateBackup, mdi100, nil},
		}},

		// RFC 5798 6.4.2 Backup.
		{"6.4.2 shutdown from backup sends nothing", nil, []step{
			startBackup,
			{time.Second, Shutdown{}, []Action{ev(StateInitialize, StateBackup, 100, ReasonShutdown)}, StateInitialize, none, nil},
		}},
		{"6.4.2 early timeout does nothing", nil, []step{
			startBackup,
			{mdi100 - time.Nanosecond, Timeout{}, nil, StateBackup, mdi100, nil},
		}},
		{"6.4.2 master down timer makes master", nil, toMaster()},
		{"6.4.2 late timeout still takes over, timers from now", nil, []step{
			startBackup,
			{10 * time.Second, Timeout{}, becomeMaster(100, StateBackup, ReasonMasterDown), StateMaster, 11 * time.Second, nil},
		}},
		{"6.4.2 priority 0 advert: take over after skew only", nil, []step{
			startBackup,
			{time.Second, adv(higherIP, 0), nil, StateBackup, time.Second + sk100, nil},
			{time.Second + sk100, Timeout{}, becomeMaster(100, StateBackup, ReasonMasterResigned), StateMaster, 2*time.Second + sk100, nil},
		}},
		{"6.4.2 higher priority advert resets down timer", nil, []step{
			startBackup,
			{2 * time.Second, adv(lowerIP, 200), nil, StateBackup, 2*time.Second + mdi100, nil},
			{mdi100, Timeout{}, nil, StateBackup, 2*time.Second + mdi100, nil},
		}},
		{"6.4.2 equal priority advert resets down timer even from lower address", nil, []step{
			startBackup,
			{2 * time.Second, adv(lowerIP, 100), nil, StateBackup, 2*time.Second + mdi100, nil},
		}},
		{"6.4.2 preempt: lower priority advert makes master after the skew (not at the down deadline)", nil, []step{
			startBackup,
			{5 * time.Second, adv(higherIP, 99), nil, StateBackup, 5*time.Second + sk100, nil},
			{5*time.Second + sk100, Timeout{}, becomeMaster(100, StateBackup, ReasonPreempt), StateMaster, 6*time.Second + sk100, nil},
		}},
		{"preempt waits until the master's next advert is due, plus the skew", nil, []step{
			startBackup,
			{5 * time.Second, adv(higherIP, 200), nil, StateBackup, 5*time.Second + mdi100, nil},
			{5300 * time.Millisecond, adv(higherIP, 99), nil, StateBackup, 6*time.Second + sk100, nil},
			// The lowered master repeats itself: the deadline stays.
			{5400 * time.Millisecond, adv(higherIP, 99), nil, StateBackup, 6*time.Second + sk100, nil},
			{6*time.Second + sk100, Timeout{}, becomeMaster(100, StateBackup, ReasonPreempt), StateMaster, 7*time.Second + sk100, nil},
		}},
		{"forgery exposed: the master contradicts a lowered advert, which cancels the takeover and holds", nil, []step{
			startBackup,
			{5 * time.Second, adv(higherIP, 200), nil, StateBackup, 5*time.Second + mdi100, nil},
			{5300 * time.Millisecond, adv(higherIP, 50), nil, StateBackup, 6*time.Second + sk100, nil},
			{6 * time.Second, adv(higherIP, 200), nil, StateBackup, 6*time.Second + mdi100, nil},
			{6100 * time.Millisecond, adv(higherIP, 50), nil, StateBackup, 6*time.Second + mdi100, ErrPreemptHeld},
			// A resignation now waits the whole down interval.
			{6200 * time.Millisecond, adv(higherIP, 0), nil, StateBackup, 6200*time.Millisecond + mdi100, nil},
		}},
		{"forgery exposed: a resignation contradicted by the master", nil, []step{
			startBackup,
			{5 * time.Second, adv(higherIP, 200), nil, StateBackup, 5*time.Second + mdi100, nil},
			{5300 * time.Millisecond, adv(higherIP, 0), nil, StateBackup, 6*time.Second + sk100, nil},
			{5300 * time.Millisecond, adv(higherIP, 0), nil, StateBackup, 6*time.Second + sk100, nil},
			{5301 * time.Millisecond, adv(higherIP, 200), nil, StateBackup, 5301*time.Millisecond + mdi100, nil},
			{5400 * time.Millisecond, adv(higherIP, 50), nil, StateBackup, 5301*time.Millisecond + mdi100, ErrPreemptHeld},
		}},
		{"startup hold: no preemption within a master down interval of startup", nil, []step{
			startBackup,
			{2 * time.Second, adv(higherIP, 99), nil, StateBackup, 2*time.Second + mdi100, nil},
			{mdi100, adv(higherIP, 99), nil, StateBackup, mdi100 + sk100, nil},
		}},
		{"startup hold: also after leaving FAULT", nil, []step{
			startBackup,
			{5 * time.Second, Fault{Source: "health"}, []Action{ev(StateFault, StateBackup, 100, ReasonFault)}, StateFault, none, nil},
			{6 * time.Second, FaultCleared{Source: "health"}, []Action{ev(StateBackup, StateFault, 100, ReasonFaultCleared)}, StateBackup, 6*time.Second + mdi100, nil},
			{7 * time.Second, adv(higherIP, 99), nil, StateBackup, 7*time.Second + mdi100, nil},
			{6*time.Second + mdi100, adv(higherIP, 99), nil, StateBackup, 6*time.Second + mdi100 + sk100, nil},
		}},
		{"6.4.2 lower priority from a router that is not the master is discarded", nil, []step{
			startBackup,
			{time.Second, adv(higherIP, 200), nil, StateBackup, time.Second + mdi100, nil},
			// Neither the down timer nor the master changes.
			{1500 * time.Millisecond, adv(lowerIP, 50), nil, StateBackup, time.Second + mdi100, ErrNotMaster},
			{1600 * time.Millisecond, adv(lowerIP, 0), nil, StateBackup, time.Second + mdi100, ErrNotMaster},
			{time.Second + mdi100, Timeout{}, becomeMaster(100, StateBackup, ReasonMasterDown), StateMaster, 2*time.Second + mdi100, nil},
		}},
		{"flap: after losing an advert-won mastership, adverts cannot trigger a takeover for a minute", nil, []step{
			startBackup,
			// A forged lowered advert in the master's name wins once (the
			// real master was late)...
			{5 * time.Second, adv(higherIP, 50), nil, StateBackup, 5*time.Second + sk100, nil},
			{5*time.Second + sk100, Timeout{}, becomeMaster(100, StateBackup, ReasonPreempt), StateMaster, 6*time.Second + sk100, nil},
			// ...the real master takes it back at its next advert...
			{6 * time.Second, adv(higherIP, 200), []Action{SendAdvert{100}, RemoveVIPs{}, ev(StateBackup, StateMaster, 100, ReasonHigherPriority)}, StateBackup, 6*time.Second + mdi100, nil},
			// ...and for a minute neither lowered adverts nor resignations
			// trigger a takeover before the down timer.
			{6100 * time.Millisecond, adv(higherIP, 50), nil, StateBackup, 6*time.Second + mdi100, ErrPreemptHeld},
			{6200 * time.Millisecond, adv(higherIP, 0), nil, StateBackup, 6200*time.Millisecond + mdi100, nil},
			{7 * time.Second, adv(higherIP, 200), nil, StateBackup, 7*time.Second + mdi100, nil},
			// A real master that dies is still replaced at the down timer.
			{7*time.Second + mdi100, Timeout{}, becomeMaster(100, StateBackup, ReasonMasterDown), StateMaster, 8*time.Second + mdi100, nil},
		}},
		{"flap hold ends after a minute", nil, []step{
			startBackup,
			{5 * time.Second, adv(higherIP, 50), nil, StateBackup, 5*time.Second + sk100, nil},
			{5*time.Second + sk100, Timeout{}, becomeMaster(100, StateBackup, ReasonPreempt), StateMaster, 6*time.Second + sk100, nil},
			{6 * time.Second, adv(higherIP, 200), []Action{SendAdvert{100}, RemoveVIPs{}, ev(StateBackup, StateMaster, 100, ReasonHigherPriority)}, StateBackup, 6*time.Second + mdi100, nil},
			{65 * time.Second, adv(higherIP, 200), nil, StateBackup, 65*time.Second + mdi100, nil},
			{67 * time.Second, adv(higherIP, 50), nil, StateBackup, 67*time.Second + sk100, nil},
		}},
		{"no flap: a mastership held longer than a down interval lost to a better master", nil, []step{
			startBackup,
			{5 * time.Second, adv(higherIP, 50), nil, StateBackup, 5*time.Second + sk100, nil},
			{5*time.Second + sk100, Timeout{}, becomeMaster(100, StateBackup, ReasonPreempt), StateMaster, 6*time.Second + sk100, nil},
			{5*time.Second + sk100 + mdi100, adv(higherIP, 200), []Action{SendAdvert{100}, RemoveVIPs{}, ev(StateBackup, StateMaster, 100, ReasonHigherPriority)}, StateBackup, 5*time.Second + sk100 + 2*mdi100, nil},
			{15 * time.Second, adv(higherIP, 50), nil, StateBackup, 15*time.Second + sk100, nil},
		}},
		{"6.4.2 nopreempt: lower priority advert resets down timer", func(p *Params) { p.NoPreempt = true }, []step{
			startBackup,
			{2 * time.Second, adv(higherIP, 99), nil, StateBackup, 2*time.Second + mdi100, nil},
		}},
		{"6.4.2 v3 backup learns master advert interval", nil, []step{
			startBackup,
			{time.Second, AdvertReceived{Src: higherIP, Priority: 200, Interval: 200 * time.Millisecond}, nil, StateBackup,
				// 3 x 200 ms + 156 x 200 000 us / 256
				time.Second + 600*time.Millisecond + 121875*time.Microsecond, nil},
			{2 * time.Second, AdvertReceived{Src: higherIP, Priority: 0, Interval: 200 * time.Millisecond}, nil, StateBackup,
				2*time.Second + 121875*time.Microsecond, nil},
		}},
		{"6.4.2 v2 interval mismatch is discarded", func(p *Params) { p.Version = Version2 }, []step{
			startBackup,
			{time.Second, AdvertReceived{Src: higherIP, Priority: 200, Interval: 2 * time.Second}, nil, StateBackup, mdi100, ErrIntervalMismatch},
			{2 * time.Second, adv(higherIP, 200), nil, StateBackup, 2*time.Second + mdi100, nil},
		}},
		{"own looped-back advert is discarded", nil, []step{
			startBackup,
			{time.Second, adv(ownIP, 200), nil, StateBackup, mdi100, ErrOwnAdvert},
		}},

		// RFC 5798 6.4.3 Master.
		{"6.4.3 shutdown from master resigns with priority 0", nil, then(toMaster(),
			step{5 * time.Second, Shutdown{}, []Action{SendAdvert{0}, RemoveVIPs{}, ev(StateInitialize, StateMaster, 100, ReasonShutdown)}, StateInitialize, none, nil},
		)},
		{"resign hold: the master keeps its VIPs until a successor advertises", func(p *Params) { p.ResignHold = 2 * time.Second }, then(toMaster(),
			step{5 * time.Second, Shutdown{}, []Action{SendAdvert{0}}, StateMaster, 6 * time.Second, nil},
			// The resignation is repeated every interval; nothing else is
			// sent, whatever the priority does.
			step{5500 * time.Millisecond, PriorityDelta{-10}, nil, StateMaster, 6 * time.Second, nil},
			step{6 * time.Second, Timeout{}, []Action{SendAdvert{0}}, StateMaster, 7 * time.Second, nil},
			// Another resignation is no successor; the own address is forged.
			step{6100 * time.Millisecond, adv(higherIP, 0), nil, StateMaster, 7 * time.Second, nil},
			step{6150 * time.Millisecond, adv(ownIP, 50), nil, StateMaster, 7 * time.Second, ErrOwnAdvert},
			step{6200 * time.Millisecond, adv(lowerIP, 50), []Action{RemoveVIPs{}, ev(StateInitialize, StateMaster, 90, ReasonSuccessor)}, StateInitialize, none, nil},
			step{6300 * time.Millisecond, adv(lowerIP, 50), nil, StateInitialize, none, nil},
		)},
		{"resign hold: bounded when no successor comes", func(p *Params) { p.ResignHold = 2 * time.Second }, then(toMaster(),
			step{5 * time.Second, Shutdown{}, []Action{SendAdvert{0}}, StateMaster, 6 * time.Second, nil},
			step{6 * time.Second, Timeout{}, []Action{SendAdvert{0}}, StateMaster, 7 * time.Second, nil},
			step{7 * time.Second, Timeout{}, []Action{RemoveVIPs{}, ev(StateInitialize, StateMaster, 100, ReasonResignTimeout)}, StateInitialize, none, nil},
		)},
		{"resign hold: a second shutdown ends it at once", func(p *Params) { p.ResignHold = 2 * time.Second }, then(toMaster(),
			step{5 * time.Second, Shutdown{}, []Action{SendAdvert{0}}, StateMaster, 6 * time.Second, nil},
			step{5 * time.Second, Shutdown{}, []Action{RemoveVIPs{}, ev(StateInitialize, StateMaster, 100, ReasonShutdown)}, StateInitialize, none, nil},
		)},
		{"resign hold: a fault ends it at once", func(p *Params) { p.ResignHold = 2 * time.Second }, then(toMaster(),
			step{5 * time.Second, Shutdown{}, []Action{SendAdvert{0}}, StateMaster, 6 * time.Second, nil},
			step{5 * time.Second, Fault{Source: "interface"}, []Action{RemoveVIPs{}, ev(StateInitialize, StateMaster, 100, ReasonShutdown)}, StateInitialize, none, nil},
		)},
		{"resign hold: a backup stops at once", func(p *Params) { p.ResignHold = 2 * time.Second }, []step{
			startBackup,
			{time.Second, Shutdown{}, []Action{ev(StateInitialize, StateBackup, 100, ReasonShutdown)}, StateInitialize, none, nil},
		}},
		{"a master hearing an advert forged in its name re-advertises at once", nil, then(toMaster(),
			step{5 * time.Second, adv(ownIP, 50), []Action{SendAdvert{100}}, StateMaster, 6 * time.Second, ErrOwnAdvert},
			step{5100 * time.Millisecond, adv(ownIP, 0), nil, StateMaster, 6 * time.Second, ErrOwnAdvert}, // once per interval
		)},
		{"6.4.3 advert timer sends adverts", nil, then(toMaster(),
			step{m1, Timeout{}, []Action{SendAdvert{100}}, StateMaster, m1 + time.Second, nil},
			step{m1 + time.Second, Timeout{}, []Action{SendAdvert{100}}, StateMaster, m1 + 2*time.Second, nil},
		)},
		{"6.4.3 master hearing priority 0 re-adverts at once", nil, then(toMaster(),
			step{m1 - 300*time.Millisecond, adv(higherIP, 0), []Action{SendAdvert{100}}, StateMaster, m1 + 700*time.Millisecond, nil},
		)},
		{"6.4.3 higher priority: advert, remove VIPs, backup", nil, then(toMaster(),
			step{5 * time.Second, AdvertReceived{Src: lowerIP, Priority: 101, Interval: 500 * time.Millisecond},
				[]Action{SendAdvert{100}, RemoveVIPs{}, ev(StateBackup, StateMaster, 100, ReasonHigherPriority)}, StateBackup,
				// v3 learned 500 ms: 1.5 s + 156 x 500 000 us / 256
				5*time.Second + 1500*time.Millisecond + 304687*time.Microsecond, nil},
		)},
		{"6.4.3 equal priority from higher address: backup", nil, then(toMaster(),
			step{5 * time.Second, adv(higherIP, 100),
				[]Action{SendAdvert{100}, RemoveVIPs{}, ev(StateBackup, StateMaster, 100, ReasonTieBreak)}, StateBackup, 5*time.Second + mdi100, nil},
		)},
		{"6.4.3 equal priority from lower address: re-advert and re-GARP", nil, then(toMaster(),
			step{5 * time.Second, adv(lowerIP, 100), []Action{SendAdvert{100}, SendGARP{5}}, StateMaster, 6 * time.Second, nil},
		)},
		{"6.4.3 lower priority master: re-advert and re-GARP", nil, then(toMaster(),
			step{5 * time.Second, adv(higherIP, 99), []Action{SendAdvert{100}, SendGARP{5}}, StateMaster, 6 * time.Second, nil},
		)},
		{"6.4.3 a burst of lower priority adverts is answered once per interval", nil, then(toMaster(),
			step{5 * time.Second, adv(higherIP, 99), []Action{SendAdvert{100}, SendGARP{5}}, StateMaster, 6 * time.Second, nil},
			step{5100 * time.Millisecond, adv(lowerIP, 50), nil, StateMaster, 6 * time.Second, nil},
			step{5200 * time.Millisecond, adv(higherIP, 0), nil, StateMaster, 6 * time.Second, nil},
			step{5900 * time.Millisecond, adv(higherIP, 99), nil, StateMaster, 6 * time.Second, nil},
			step{6 * time.Second, adv(higherIP, 99), []Action{SendAdvert{100}, SendGARP{5}}, StateMaster, 7 * time.Second, nil},
		)},
		{"6.4.3 v2 master discards interval mismatch", func(p *Params) { p.Version = Version2 }, then(toMaster(),
			step{5 * time.Second, AdvertReceived{Src: higherIP, Priority: 200, Interval: 3 * time.Second}, nil, StateMaster, m1, ErrIntervalMismatch},
		)},

		// GARP schedule.
		{"second GARP burst after garp delay", func(p *Params) { p.GARPDelay = 5 * time.Second }, then(toMaster(),
			step{m1, Timeout{}, []Action{SendAdvert{100}}, StateMaster, m1 + time.Second, nil},
			step{mdi100 + 5*time.Second, Timeout{}, []Action{SendAdvert{100}, SendGARP{5}}, StateMaster, mdi100 + 6*time.Second, nil},
		)},
		{"GARP refresh while master", func(p *Params) { p.GARPRefresh = 1500 * time.Millisecond }, then(toMaster(),
			step{m1, Timeout{}, []Action{SendAdvert{100}}, StateMaster, mdi100 + 1500*time.Millisecond, nil},
			step{mdi100 + 1500*time.Millisecond, Timeout{}, []Action{SendGARP{1}}, StateMaster, mdi100 + 2*time.Second, nil},
			step{mdi100 + 3*time.Second, Timeout{}, []Action{SendAdvert{100}, SendGARP{1}}, StateMaster, mdi100 + 4*time.Second, nil},
		)},

		// VIPs deleted behind our back.
		{"master restores removed VIPs", nil, then(toMaster(),
			step{5 * time.Second, VIPsRemoved{}, []Action{AddVIPs{}, SendGARP{5}}, StateMaster, m1, nil},
		)},
		{"backup and fault ignore removed VIPs", nil, []step{
			{0, VIPsRemoved{}, nil, StateInitialize, none, nil},
			startBackup,
			{time.Second, VIPsRemoved{}, nil, StateBackup, mdi100, nil},
			{time.Second, Fault{Source: "health"}, []Action{ev(StateFault, StateBackup, 100, ReasonFault)}, StateFault, none, nil},
			{2 * time.Second, VIPsRemoved{}, nil, StateFault, none, nil},
		}},

		// Fault.
		{"backup fault and recovery", nil, []step{
			startBackup,
			{time.Second, Fault{Source: "health", Detail: "kinit probe failed"}, []Action{Event{StateFault, StateBackup, 100, ReasonFault, "kinit probe failed"}}, StateFault, none, nil},
			{2 * time.Second, adv(higherIP, 0), nil, StateFault, none, nil},
			{3 * time.Second, Fault{Source: "health", Detail: "again"}, nil, StateFault, none, nil},
			{10 * time.Second, Timeout{}, nil, StateFault, none, nil},
			{11 * time.Second, FaultCleared{Source: "health"}, []Action{ev(StateBackup, StateFault, 100, ReasonFaultCleared)}, StateBackup, 11*time.Second + mdi100, nil},
		}},
		{"master fault resigns with priority 0 then removes VIPs", nil, then(toMaster(),
			step{5 * time.Second, Fault{Source: "health", Detail: "eth0 down"}, []Action{SendAdvert{0}, RemoveVIPs{}, Event{StateFault, StateMaster, 100, ReasonFault, "eth0 down"}}, StateFault, none, nil},
			step{6 * time.Second, Shutdown{}, []Action{ev(StateInitialize, StateFault, 100, ReasonShutdown)}, StateInitialize, none, nil},
		)},
		{"fault before start is latched", nil, []step{
			{0, Fault{Source: "health", Detail: "no keytab"}, nil, StateInitialize, none, nil},
			{time.Second, Start{}, []Action{Event{StateFault, StateInitialize, 100, ReasonFault, "no keytab"}}, StateFault, none, nil},
		}},
		{"fault cleared before start is forgotten", nil, []step{
			{0, Fault{Source: "health", Detail: "no keytab"}, nil, StateInitialize, none, nil},
			{0, FaultCleared{Source: "health"}, nil, StateInitialize, none, nil},
			startBackup,
		}},
		{"faults from several sources add up", nil, []step{
			startBackup,
			{time.Second, Fault{Source: "interface", Detail: "eth0 down"}, []Action{Event{StateFault, StateBackup, 100, ReasonFault, "eth0 down"}}, StateFault, none, nil},
			{2 * time.Second, Fault{Source: "health", Detail: "kinit timeout"}, nil, StateFault, none, nil},
			{3 * time.Second, FaultCleared{Source: "interface"}, nil, StateFault, none, nil},
			{4 * time.Second, FaultCleared{Source: "unknown"}, nil, StateFault, none, nil},
			{5 * time.Second, FaultCleared{Source: "health"}, []Action{ev(StateBackup, StateFault, 100, ReasonFaultCleared)}, StateBackup, 5*time.Second + mdi100, nil},
		}},
		{"owner leaves fault as master", func(p *Params) { p.Priority = 255 }, []step{
			{0, Start{}, becomeMaster(255, StateInitialize, ReasonOwner), StateMaster, time.Second, nil},
			{time.Second, Fault{Source: "health"}, []Action{SendAdvert{0}, RemoveVIPs{}, ev(StateFault, StateMaster, 255, ReasonFault)}, StateFault, none, nil},
			{2 * time.Second, FaultCleared{Source: "health"}, becomeMaster(255, StateFault, ReasonFaultCleared), StateMaster, 3 * time.Second, nil},
		}},

		// Priority from trackers.
		{"tracker delta clamps to 1 and skew follows", nil, []step{
			startBackup,
			{time.Second, PriorityDelta{-150}, nil, StateBackup, mdi100, nil},
			{2 * time.Second, adv(higherIP, 0), nil, StateBackup, 2*time.Second + skew1, nil},
		}},
		{"tracker delta clamps to 254 and adverts carry it", nil, then(toMaster(),
			// A master whose priority changes advertises it at once.
			step{m1 - time.Millisecond, PriorityDelta{+200}, []Action{SendAdvert{254}}, StateMaster, m1 - time.Millisecond + time.Second, nil},
			step{m1 - time.Millisecond + time.Second, Timeout{}, []Action{SendAdvert{254}}, StateMaster, m1 - time.Millisecond + 2*time.Second, nil},
			step{m1 + time.Second, PriorityDelta{+250}, nil, StateMaster, m1 - time.Millisecond + 2*time.Second, nil}, // still clamped to 254: no change
			step{m1 + time.Second + time.Millisecond, PriorityDelta{0}, []Action{SendAdvert{100}}, StateMaster, m1 + 2*time.Second + time.Millisecond, nil},
		)},
		{"owner priority is never adjusted", func(p *Params) { p.Priority = 255 }, []step{
			{0, PriorityDelta{-100}, nil, StateInitialize, none, nil},
			{0, Start{}, becomeMaster(255, StateInitialize, ReasonOwner), StateMaster, time.Second, nil},
		}},
		{"lowered master yields to backup that now wins", nil, then(toMaster(),
			step{5 * time.Second, PriorityDelta{-1}, []Action{SendAdvert{99}}, StateMaster, 6 * time.Second, nil},
			step{5 * time.Second, adv(lowerIP, 100), []Action{SendAdvert{99}, RemoveVIPs{}, ev(StateBackup, StateMaster, 99, ReasonHigherPriority)}, StateBackup,
				5*time.Second + 3*time.Second + skew99, nil},
		)},
		{"raised backup preempts the master after a master down interval", nil, []step{
			startBackup,
			{5 * time.Second, adv(higherIP, 120), nil, StateBackup, 5*time.Second + mdi100, nil},
			{5500 * time.Millisecond, PriorityDelta{+50}, nil, StateBackup, 5*time.Second + mdi100, nil},
			{6 * time.Second, adv(higherIP, 120), nil, StateBackup, 6*time.Second + mdi150, nil},
			{5500*time.Millisecond + mdi150, adv(higherIP, 120), nil, StateBackup, 5500*time.Millisecond + mdi150 + sk150, nil},
			{5500*time.Millisecond + mdi150 + sk150, Timeout{}, becomeMaster(150, StateBackup, ReasonPreempt), StateMaster, 6500*time.Millisecond + mdi150 + sk150, nil},
		}},

		// preempt_delay (keepalived semantics).
		{"preempt_delay holds off preemption after startup", func(p *Params) { p.PreemptDelay = 10 * time.Second }, []step{
			startBackup,
			{time.Second, adv(higherIP, 50), nil, StateBackup, time.Second + mdi100, nil},
			{9 * time.Second, adv(higherIP, 50), nil, StateBackup, 9*time.Second + mdi100, nil},
			{10 * time.Second, adv(higherIP, 50), nil, StateBackup, 10*time.Second + sk100, nil},
		}},
		{"preempt_delay restarts after a higher priority master", func(p *Params) { p.PreemptDelay = 10 * time.Second }, []step{
			startBackup,
			{20 * time.Second, adv(higherIP, 200), nil, StateBackup, 20*time.Second + mdi100, nil},
			{21 * time.Second, adv(higherIP, 50), nil, StateBackup, 21*time.Second + mdi100, nil},
			{30 * time.Second, adv(higherIP, 50), nil, StateBackup, 30*time.Second + mdi100, nil},
			{31 * time.Second, adv(higherIP, 50), nil, StateBackup, 31*time.Second + sk100, nil},
		}},
		{"preempt_delay does not hold off a dead master", func(p *Params) { p.PreemptDelay = 10 * time.Second }, []step{
			startBackup,
			{mdi100, Timeout{}, becomeMaster(100, StateBackup, ReasonMasterDown), StateMaster, mdi100 + time.Second, nil},
		}},

		// Owner (priority 255).
		{"two owners: lower address yields, then preempts a lower master despite nopreempt",
			func(p *Params) { p.Priority = 255; p.NoPreempt = true; p.PreemptDelay = time.Minute }, []step{
				{0, Start{}, becomeMaster(255, StateInitialize, ReasonOwner), StateMaster, time.Second, nil},
				{500 * time.Millisecond, adv(higherIP, 255), []Action{SendAdvert{255}, RemoveVIPs{}, ev(StateBackup, StateMaster, 255, ReasonTieBreak)}, StateBackup,
					500*time.Millisecond + mdi255, nil},
				{time.Second, adv(higherIP, 254), nil, StateBackup, 1500*time.Millisecond + 3906*time.Microsecond, nil},
				{1500*time.Millisecond + 3906*time.Microsecond, Timeout{}, becomeMaster(255, StateBackup, ReasonPreempt), StateMaster, 2500*time.Millisecond + 3906*time.Microsecond, nil},
			}},
		{"priority 254 v2 down interval", func(p *Params) { p.Priority = 254; p.Version = Version2 }, []step{
			{0, Start{}, []Action{ev(StateBackup, StateInitialize, 254, ReasonStartup)}, StateBackup, mdi254, nil},
		}},
		{"priority 150 backup wins the race with a resigning master", func(p *Params) { p.Priority = 150 }, []step{
			{0, Start{}, []Action{ev(StateBackup, StateInitialize, 150, ReasonStartup)}, StateBackup, mdi150, nil},
			{time.Second, adv(higherIP, 0), nil, StateBackup, time.Second + sk150, nil},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := baseParams()
			if tt.params != nil {
				tt.params(&p)
			}
			m, err := NewMachine(p)
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range tt.steps {
				out := m.Step(t0.Add(s.at), s.in)
				if !reflect.DeepEqual(out.Actions, s.want) {
					t.Fatalf("step %d (%T at %v): actions\n got %#v\nwant %#v", i, s.in, s.at, out.Actions, s.want)
				}
				if m.State() != s.state {
					t.Fatalf("step %d (%T at %v): state %v, want %v", i, s.in, s.at, m.State(), s.state)
				}
				wantNext := time.Time{}
				if s.next != none {
					wantNext = t0.Add(s.next)
				}
				if !out.Next.Equal(wantNext) {
					t.Fatalf("step %d (%T at %v): next %v, want %v", i, s.in, s.at, out.Next.Sub(t0), s.next)
				}
				if (s.discarded == nil) != (out.Discarded == nil) || (s.discarded != nil && !errors.Is(out.Discarded, s.discarded)) {
					t.Fatalf("step %d (%T at %v): discarded %v, want %v", i, s.in, s.at, out.Discarded, s.discarded)
				}
			}
		})
	}
}

func TestMasterDownInterval(t *testing.T) {
	tests := []struct {
		v        Version
		prio     uint8
		interval time.Duration
		want     time.Duration
	}{
		{Version2, 100, time.Second, 3609375 * time.Microsecond},
		{Version2, 100, 3 * time.Second, 9609375 * time.Microsecond}, // v2 skew ignores the interval
		{Version3, 100, time.Second, 3609375 * time.Microsecond},
		{Version3, 100, 100 * time.Millisecond, 360937 * time.Microsecond},
		{Version3, 255, 10 * time.Millisecond, 30039 * time.Microsecond},
		{Version3, 1, 40950 * time.Millisecond, 122850*time.Millisecond + 40790039*time.Microsecond},
	}
	for _, tt := range tests {
		if got := masterDownInterval(tt.v, tt.prio, tt.interval); got != tt.want {
			t.Errorf("masterDownInterval(v%d, %d, %v) = %v, want %v", tt.v, tt.prio, tt.interval, got, tt.want)
		}
	}
}

func TestParamsValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Params)
		ok     bool
	}{
		{"base", func(*Params) {}, true},
		{"vrid 0", func(p *Params) { p.VRID = 0 }, false},
		{"priority 0", func(p *Params) { p.Priority = 0 }, false},
		{"no primary IP", func(p *Params) { p.PrimaryIP = netip.Addr{} }, false},
		{"v2 with IPv6", func(p *Params) { p.Version = Version2; p.PrimaryIP = netip.MustParseAddr("fe80::1") }, false},
		{"v3 with IPv6", func(p *Params) { p.PrimaryIP = netip.MustParseAddr("fe80::1") }, true},
		{"version 4", func(p *Params) { p.Version = 4 }, false},
		{"v2 sub-second interval", func(p *Params) { p.Version = Version2; p.AdvertInterval = 500 * time.Millisecond }, false},
		{"v3 sub-centisecond interval", func(p *Params) { p.AdvertInterval = 1005 * time.Millisecond }, false},
		{"preempt delay 1001s", func(p *Params) { p.PreemptDelay = 1001 * time.Second }, false},
		{"garp repeat 0", func(p *Params) { p.GARPRepeat = 0 }, false},
		{"negative garp delay", func(p *Params) { p.GARPDelay = -time.Second }, false},
	}
	for _, tt := range tests {
		p := baseParams()
		tt.mutate(&p)
		_, err := NewMachine(p)
		if tt.ok != (err == nil) || (err != nil && !errors.Is(err, ErrParams)) {
			t.Errorf("%s: NewMachine err = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestStateString(t *testing.T) {
	for s, want := range map[State]string{StateInitialize: "INIT", StateBackup: "BACKUP", StateMaster: "MASTER", StateFault: "FAULT", 9: "State(9)"} {
		if s.String() != want {
			t.Errorf("%d.String() = %q, want %q", s, s.String(), want)
		}
	}
}

func TestMachineMaster(t *testing.T) {
	m, err := NewMachine(baseParams())
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		at   time.Duration
		in   Input
		want netip.Addr
	}{
		{0, Start{}, netip.Addr{}},
		{time.Second, adv(higherIP, 200), higherIP},
		{1500 * time.Millisecond, adv(lowerIP, 50), higherIP}, // not the master: discarded
		{4 * time.Second, adv(higherIP, 50), higherIP},        // preempting after the skew
		{4*time.Second + sk100, Timeout{}, ownIP},             // preempted the lowered master
		{9 * time.Second, adv(higherIP, 200), higherIP},
		{10 * time.Second, adv(higherIP, 0), netip.Addr{}},
		{11*time.Second + sk100, Timeout{}, ownIP},
		{12 * time.Second, Shutdown{}, netip.Addr{}},
	}
	for i, s := range steps {
		m.Step(t0.Add(s.at), s.in)
		if got := m.Master(); got != s.want {
			t.Errorf("step %d (%T): Master() = %v, want %v", i, s.in, got, s.want)
		}
	}
}

// lan simulates routers on one segment with a fake clock: an advert
// reaches every other running router at once.
type lan struct {
	t     *testing.T
	now   time.Time
	nodes []*simNode
}

type simNode struct {
	m      *Machine
	ip     netip.Addr
	next   time.Time
	down   bool // crashed: hears and sends nothing
	events int
	garps  int
}

func newLAN(t *testing.T, prios ...uint8) *lan {
	l := &lan{t: t, now: t0}
	for i, p := range prios {
		params := baseParams()
		params.Priority, params.PrimaryIP = p, netip.AddrFrom4([4]byte{192, 0, 2, byte(10 + i)})
		m, err := NewMachine(params)
		if err != nil {
			t.Fatal(err)
		}
		l.nodes = append(l.nodes, &simNode{m: m, ip: params.PrimaryIP})
	}
	for _, n := range l.nodes {
		l.step(n, Start{})
	}
	return l
}

type simAdvert struct {
	src  netip.Addr
	prio uint8
}

// step feeds in to n, then delivers the adverts that follow until the LAN
// is quiet.
func (l *lan) step(n *simNode, in Input) {
	l.deliver(l.apply(n, in, nil))
}

// deliver hands each queued advert to every other running router, in
// order, until the LAN is quiet.
func (l *lan) deliver(queue []simAdvert) {
	for i := 0; len(queue) > 0; i++ {
		if i > 10000 {
			l.t.Fatal("adverts ping-pong without end")
		}
		a := queue[0]
		queue = queue[1:]
		for _, to := range l.nodes {
			if !to.down && to.ip != a.src {
				queue = l.apply(to, AdvertReceived{Src: a.src, Priority: a.prio, Interval: time.Second}, queue)
			}
		}
	}
}

func (l *lan) apply(n *simNode, in Input, queue []simAdvert) []simAdvert {
	out := n.m.Step(l.now, in)
	n.next = out.Next
	for _, a := range out.Actions {
		switch a := a.(type) {
		case SendAdvert:
			queue = append(queue, simAdvert{n.ip, a.Priority})
		case SendGARP:
			n.garps++
		case Event:
			n.events++
		}
	}
	return queue
}

// forge delivers an advert that no router sent to every running router at
// once; what they send in reply arrives after it everywhere.
func (l *lan) forge(src netip.Addr, prio uint8) {
	var queue []simAdvert
	for _, n := range l.nodes {
		if !n.down {
			queue = l.apply(n, AdvertReceived{Src: src, Priority: prio, Interval: time.Second}, queue)
		}
	}
	l.deliver(queue)
}

// run advances the clock to until, firing timers in order.
func (l *lan) run(until time.Time) {
	for {
		var first *simNode
		for _, n := range l.nodes {
			if !n.down && !n.next.IsZero() && (first == nil || n.next.Before(first.next)) {
				first = n
			}
		}
		if first == nil || first.next.After(until) {
			l.now = until
			return
		}
		l.now = first.next
		l.step(first, Timeout{})
	}
}

func (l *lan) totals() (events, garps int) {
	for _, n := range l.nodes {
		events += n.events
		garps += n.garps
	}
	return events, garps
}

// TestForgedBurst replays the reported attack: a master (150) and a backup
// (100) on a LAN, and a forger sending 20 lower-priority adverts or
// resignations, one every 100 ms or every second. Before the fix each one
// flapped the backup (40 transitions, 60 GARP bursts), and then one flap
// per burst in the master's name remained (2 transitions). Now the bound
// is one transition per burst, and none happens: an early takeover waits
// until the master's next advert is due, which contradicts the forgery,
// also when the master cannot hear the forger (sent to the backup only).
// A forger using another address gets nothing.
func TestForgedBurst(t *testing.T) {
	master := netip.MustParseAddr("192.0.2.10")
	other := netip.MustParseAddr("192.0.2.66")
	cases := []struct {
		name          string
		src           netip.Addr
		prio          uint8
		every         time.Duration // the master advertises at x.414 s
		backupOnly    bool          // the master does not hear the forger
		events, garps int           // at most, over the whole LAN
	}{
		{"in the master's name", master, 50, 100 * time.Millisecond, false, 1, 1},
		{"in the master's name, priority 1", master, 1, 100 * time.Millisecond, false, 1, 1},
		{"in the master's name, every second", master, 50, time.Second, false, 1, 1},
		{"in the master's name, to the backup only", master, 50, 100 * time.Millisecond, true, 1, 1},
		{"in the master's name, to the backup only, every second", master, 50, time.Second, true, 1, 1},
		{"resignations in the master's name", master, 0, 100 * time.Millisecond, false, 1, 1},
		{"resignations in the master's name, just after its adverts", master, 0, time.Second, false, 1, 1},
		{"resignations in the master's name, to the backup only", master, 0, 100 * time.Millisecond, true, 1, 1},
		// The master answers at most once per advert interval.
		{"from another address", other, 50, 100 * time.Millisecond, false, 0, 2},
		{"resignations from another address", other, 0, 100 * time.Millisecond, false, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := newLAN(t, 150, 100)
			start := t0.Add(10*time.Second + 500*time.Millisecond)
			l.run(start)
			if l.nodes[0].m.State() != StateMaster || l.nodes[1].m.State() != StateBackup {
				t.Fatalf("before the burst: %v, %v", l.nodes[0].m.State(), l.nodes[1].m.State())
			}
			events0, garps0 := l.totals()
			for i := range 20 {
				l.run(start.Add(time.Duration(i) * c.every))
				if c.backupOnly {
					l.step(l.nodes[1], AdvertReceived{Src: c.src, Priority: c.prio, Interval: time.Second})
				} else {
					l.forge(c.src, c.prio)
				}
			}
			l.run(l.now.Add(10 * time.Second))
			events, garps := l.totals()
			events, garps = events-events0, garps-garps0
			t.Logf("20 forged adverts: %d transitions, %d GARP bursts", events, garps)
			if events > c.events || garps > c.garps {
				t.Errorf("%d transitions and %d GARP bursts, want at most %d and %d", events, garps, c.events, c.garps)
			}
			if l.nodes[0].m.State() != StateMaster || l.nodes[1].m.State() != StateBackup {
				t.Errorf("after the burst: %v, %v", l.nodes[0].m.State(), l.nodes[1].m.State())
			}
		})
	}
}

// TestRealFailoverNotSlowed checks that the defences against forged adverts
// leave real takeovers as fast as before: a master whose priority drops is
// replaced at once, a resigning one after the skew, a dead one at the down
// interval, and a better master wins at once.
func TestRealFailoverNotSlowed(t *testing.T) {
	setup := func() *lan {
		l := newLAN(t, 150, 100)
		l.run(t0.Add(10 * time.Second))
		return l
	}
	start := t0.Add(10 * time.Second)
	t.Run("priority drop", func(t *testing.T) {
		l := setup()
		next := l.nodes[0].next // the master's next advert, which would have contradicted a forgery
		l.step(l.nodes[0], PriorityDelta{-100})
		l.run(next.Add(sk100 - time.Nanosecond))
		if l.nodes[1].m.State() != StateBackup {
			t.Fatal("took over before the master's next advert was due plus the skew")
		}
		l.run(next.Add(sk100))
		if l.nodes[1].m.State() != StateMaster || l.nodes[0].m.State() != StateBackup {
			t.Fatalf("at the next advert + skew: %v, %v", l.nodes[0].m.State(), l.nodes[1].m.State())
		}
	})
	t.Run("resignation", func(t *testing.T) {
		l := setup()
		next := l.nodes[0].next
		l.step(l.nodes[0], Shutdown{})
		l.nodes[0].down = true
		l.run(next.Add(sk100 - time.Nanosecond))
		if l.nodes[1].m.State() != StateBackup {
			t.Fatal("took over before the master's next advert was due plus the skew")
		}
		l.run(next.Add(sk100))
		if l.nodes[1].m.State() != StateMaster {
			t.Fatal("not master at the next advert + skew")
		}
	})
	t.Run("crash", func(t *testing.T) {
		l := setup()
		last := l.nodes[1].next.Add(-mdi100) // the master's last advert
		l.nodes[0].down = true
		l.run(last.Add(mdi100))
		if l.nodes[1].m.State() != StateMaster {
			t.Fatal("not master at the down interval")
		}
	})
	t.Run("better master after a flap", func(t *testing.T) {
		l := setup()
		l.forge(l.nodes[0].ip, 50) // one flap starts the hold
		l.nodes[0].down = true
		l.run(start.Add(5 * time.Second))
		if l.nodes[1].m.State() != StateMaster {
			t.Fatal("backup did not take over from a dead master during the hold")
		}
		l.nodes[0].down = false
		l.step(l.nodes[0], Timeout{})
		l.step(l.nodes[0], PriorityDelta{+50})
		l.run(start.Add(20 * time.Second))
		if l.nodes[0].m.State() != StateMaster || l.nodes[1].m.State() != StateBackup {
			t.Fatalf("the better master did not win: %v, %v", l.nodes[0].m.State(), l.nodes[1].m.State())
		}
	})
}
