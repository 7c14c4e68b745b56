package vrrp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Transport is what an Instance needs from the network; *Conn implements
// it.
type Transport interface {
	Send(p Packet, src, dst netip.Addr) error
	Receive() (Received, error)
	Close() error
}

// Addresses is what an Instance needs to hold and announce its VIPs;
// *vip.Manager implements it. If it also has a method
//
//	WatchRemoved(done <-chan struct{}, removed func()) error
//
// Run uses it so that a master restores VIPs deleted behind its back; if it
// has
//
//	WatchLink(done <-chan struct{}, changed func(up bool)) error
//
// Run puts the instance in FAULT while the interface is down (unless
// dont_track_primary).
type Addresses interface {
	Add() error
	Remove() error
	Announce(count int) error
}

// removalWatcher and linkWatcher are the optional parts of Addresses.
type removalWatcher interface {
	WatchRemoved(done <-chan struct{}, removed func()) error
}

type linkWatcher interface {
	WatchLink(done <-chan struct{}, changed func(up bool)) error
}

// FaultSourceInterface is the Fault source of the instance's own interface
// losing its link.
const FaultSourceInterface = "interface"

// InstanceEvent is an Event stamped with the instance name and time, for
// the notify package.
type InstanceEvent struct {
	// Instance is the instance name from the configuration.
	Instance string
	// Time is when the transition happened.
	Time time.Time
	Event
}

// Status is a snapshot of an instance for status output and metrics.
type Status struct {
	// State is the current state.
	State State
	// Priority is the effective priority.
	Priority uint8
	// Master is the current master's address (see Machine.Master).
	Master netip.Addr
	// Since is when the current state was entered.
	Since time.Time
	// Dropped counts this instance's adverts that were dropped before the
	// state machine, per reason and source (see DroppedAdverts).
	Dropped []DroppedAdverts
}

// ErrStopped is returned by the Set* methods once Run has returned.
var ErrStopped = errors.New("vrrp: instance stopped")

// InstanceDeps are the collaborators of an Instance.
type InstanceDeps struct {
	// Transport sends and receives adverts (required), e.g. a *Conn.
	Transport Transport
	// Addresses holds and announces the VIPs (required), e.g. a
	// *vip.Manager.
	Addresses Addresses
	// OnEvent, if set, is called from Run's goroutine for every transition
	// and must not block (hand the event to a queue).
	OnEvent func(InstanceEvent)
	// Log defaults to slog.Default().
	Log *slog.Logger
	// Metrics may be nil.
	Metrics *Metrics
	// RealtimePriority, 1..99, runs the protocol loop and the receiver on
	// OS threads of their own at SCHED_RR with this priority (the agent
	// passes Config.RealtimePriority); 0 keeps the normal policy. Failing
	// to set it (no CAP_SYS_NICE) is warned about once, not an error.
	RealtimePriority int
	// Heartbeat, if set, is called from the protocol loop each time it
	// comes round its select, and at least every HeartbeatInterval from a
	// ticker case of its own, so that an instance with nothing to do (a
	// BACKUP with a long down timer, FAULT) still proves its loop is not
	// stuck; the agent feeds systemd's watchdog with it. It must not block.
	Heartbeat func()
	// HeartbeatInterval is the period of the Heartbeat ticker; required
	// when Heartbeat is set.
	HeartbeatInterval time.Duration
}

// Instance runs one virtual router: it feeds its Machine with received
// adverts, timer expiries and tracker inputs, and carries out the Machine's
// actions on a Transport and Addresses. All protocol decisions are the
// Machine's; this is only plumbing.
type Instance struct {
	name      string
	iface     string
	trackLink bool
	linkDown  time.Duration
	linkUp    time.Duration
	params    Params
	vips      []netip.Addr
	dsts      []netip.Addr
	peers     map[netip.Addr]bool // unicast allow-list; nil for multicast
	t         Transport
	addrs     Addresses
	owned     io.Closer // what Open created besides the transport; closed by Run
	onEvent   func(InstanceEvent)
	log       *slog.Logger
	metrics   *Metrics
	rtPrio    int
	rtWarn    sync.Once
	beat      func()
	beatEvery time.Duration

	// muted drops every advert this instance would send (SetMuted).
	muted atomic.Bool

	inputs chan Input
	done   chan struct{}

	// sendFailing is set while adverts cannot be sent, so a link that is
	// down logs once instead of at every advertisement interval.
	sendFailing bool
	// warned keeps log-worthy peer problems already logged, so a
	// misconfigured peer does not flood the log at every advert.
	warned warnOnce

	mu      sync.Mutex
	status  Status
	dropped dropTracker // guarded by mu: written by the receiver
}

// NewInstance prepares cfg to run with deps. primary is the interface's
// own address, used when unicast_src_ip is not set (see PrimaryAddress).
func NewInstance(cfg InstanceConfig, primary netip.Addr, deps InstanceDeps) (*Instance, error) {
	if deps.Transport == nil || deps.Addresses == nil {
		return nil, fmt.Errorf("vrrp: instance %s: transport and addresses are required", cfg.Name)
	}
	log := deps.Log
	if log == nil {
		log = slog.Default()
	}
	params, err := cfg.Params(primary)
	if err != nil {
		return nil, fmt.Errorf("vrrp: %w", err)
	}
	if deps.Heartbeat != nil && deps.HeartbeatInterval <= 0 {
		return nil, fmt.Errorf("vrrp: instance %s: heartbeat interval %s must be positive", cfg.Name, deps.HeartbeatInterval)
	}
	if p := deps.RealtimePriority; p != 0 && (p < minRealtimePriority || p > maxRealtimePriority) {
		return nil, fmt.Errorf("vrrp: instance %s: realtime priority %d not in 1..99 (0 = off)", cfg.Name, p)
	}
	prefixes, err := cfg.VIPs()
	if err != nil {
		return nil, fmt.Errorf("vrrp: instance %s: %w", cfg.Name, err)
	}
	in := &Instance{
		name: cfg.Name, iface: cfg.Interface, trackLink: !cfg.DontTrackPrimary, params: params,
		linkDown: cfg.LinkDownDelay, linkUp: cfg.LinkUpDelay,
		t: deps.Transport, addrs: deps.Addresses, onEvent: deps.OnEvent, metrics: deps.Metrics,
		rtPrio: deps.RealtimePriority, beat: deps.Heartbeat, beatEvery: deps.HeartbeatInterval,
		log:    log.With("instance", cfg.Name, "vrid", params.VRID),
		inputs: make(chan Input),
		done:   make(chan struct{}),
	}
	for _, p := range prefixes {
		in.vips = append(in.vips, p.Addr())
	}
	if len(cfg.UnicastPeers) == 0 {
		in.dsts = []netip.Addr{MulticastGroup4}
		if !in.vips[0].Is4() {
			in.dsts = []netip.Addr{MulticastGroup6}
		}
	} else {
		in.peers = map[netip.Addr]bool{}
		for _, s := range cfg.UnicastPeers {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("vrrp: instance %s: unicast_peers: %w", cfg.Name, err)
			}
			in.dsts = append(in.dsts, a)
			in.peers[a] = true
		}
	}
	return in, nil
}

// Name is the instance's name from the configuration.
func (in *Instance) Name() string { return in.name }

// Status returns the current state and effective priority.
func (in *Instance) Status() Status {
	in.mu.Lock()
	defer in.mu.Unlock()
	st := in.status
	st.Dropped = in.dropped.snapshot()
	return st
}

// SetPriorityDelta sets the sum of tracker weights (see PriorityDelta).
func (in *Instance) SetPriorityDelta(ctx context.Context, delta int) error {
	return in.input(ctx, PriorityDelta{Delta: delta})
}

// SetFault puts the instance in FAULT on behalf of source (e.g. "health");
// detail says why.
func (in *Instance) SetFault(ctx context.Context, source, detail string) error {
	return in.input(ctx, Fault{Source: source, Detail: detail})
}

// ClearFault withdraws source's fault; the instance leaves FAULT when no
// source reports one.
func (in *Instance) ClearFault(ctx context.Context, source string) error {
	return in.input(ctx, FaultCleared{Source: source})
}

// SetMuted stops (true) or resumes (false) sending adverts, for fault
// injection: a muted instance still hears its peers and runs its state
// machine, but to them it looks like a hung agent, so a muted master is
// replaced after the master down interval while it keeps its VIPs.
func (in *Instance) SetMuted(muted bool) {
	if in.muted.Swap(muted) != muted {
		in.log.Warn("VRRP adverts muted for fault injection", "muted", muted)
	}
}

func (in *Instance) input(ctx context.Context, i Input) error {
	select {
	case in.inputs <- i:
		return nil
	case <-in.done:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run removes stale VIPs, starts the protocol and runs it until ctx is
// cancelled; then the instance resigns: a master sends a priority-0 advert
// and keeps its VIPs until a successor advertises or the resign hold ends
// (resign_hold), so the VIP never goes unanswered, then removes them. Run
// returns after that, with the transport closed. It returns the
// transport's error if receiving fails for good (then without waiting for
// a successor). Call it once per Instance.
//
// The protocol loop and the receiver run on OS threads of their own (at
// SCHED_RR with InstanceDeps.RealtimePriority), so request handling
// elsewhere in the process cannot delay adverts or the down timer.
func (in *Instance) Run(ctx context.Context) error {
	m, err := NewMachine(in.params)
	if err != nil {
		close(in.done)
		return fmt.Errorf("vrrp: instance %s: %w", in.name, err)
	}
	// After a crash the VIPs may still be here; only a master may hold them.
	if err := in.addrs.Remove(); err != nil {
		in.log.Warn("removing stale VIPs", "err", err)
	}

	in.startWatches()

	adverts := make(chan Received)
	recvErr := make(chan error, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		in.lockThread()
		recvErr <- in.receive(adverts)
	})
	defer func() {
		close(in.done) // releases the receiver if it is handing over a packet
		if err := in.t.Close(); err != nil {
			in.log.Warn("closing transport", "err", err)
		}
		wg.Wait()
		if in.owned != nil {
			if err := in.owned.Close(); err != nil {
				in.log.Warn("closing address manager", "err", err)
			}
		}
	}()
	// Not on the caller's goroutine: the thread is never unlocked, and is
	// destroyed (with its scheduling policy) when the loop ends.
	errc := make(chan error, 1)
	go func() {
		in.lockThread()
		errc <- in.loop(ctx, m, adverts, recvErr)
	}()
	return <-errc
}

// lockThread puts the calling goroutine on an OS thread of its own, at
// the configured real-time priority; a failure is warned about once.
func (in *Instance) lockThread() {
	if err := lockThread(in.rtPrio); err != nil {
		in.rtWarn.Do(func() {
			in.log.Warn("VRRP runs without real-time priority; adverts may be late on a loaded host (grant CAP_SYS_NICE, or set vrrp.realtime_priority: 0)", "err", err)
		})
	}
}

// loop feeds the machine until it has stopped after ctx is cancelled.
func (in *Instance) loop(ctx context.Context, m *Machine, adverts <-chan Received, recvErr <-chan error) error {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var beat <-chan time.Time // nil (never ready) without a Heartbeat
	if in.beat != nil {
		t := time.NewTicker(in.beatEvery)
		defer t.Stop()
		beat = t.C
	}
	in.apply(m, time.Now(), Start{}, timer)
	stop := ctx.Done()
	for {
		if in.beat != nil {
			in.beat()
		}
		select {
		case <-beat:
		case <-stop:
			stop = nil // keep running until the resignation is over
			in.apply(m, time.Now(), Shutdown{}, timer)
		case err := <-recvErr:
			// Deaf, this node cannot hear a successor: stop at once (a
			// second Shutdown ends a resign hold).
			for m.State() != StateInitialize {
				in.apply(m, time.Now(), Shutdown{}, timer)
			}
			return fmt.Errorf("vrrp: instance %s: %w", in.name, err)
		case r := <-adverts:
			if a, ok := in.accept(r, m.State()); ok {
				in.apply(m, time.Now(), a, timer)
			}
		case i := <-in.inputs:
			in.apply(m, time.Now(), i, timer)
		case <-timer.C:
			in.onTimer(m, adverts, timer)
		}
		if stop == nil && m.State() == StateInitialize {
			return nil
		}
	}
}

// startWatches subscribes to VIP removals and link changes when the
// Addresses can report them; their callbacks feed the Run loop.
func (in *Instance) startWatches() {
	send := func(i Input) {
		select {
		case in.inputs <- i:
		case <-in.done:
		}
	}
	if w, ok := in.addrs.(removalWatcher); ok {
		if err := w.WatchRemoved(in.done, func() { send(VIPsRemoved{}) }); err != nil {
			in.log.Warn("not watching for removed VIPs", "err", err)
		}
	}
	if w, ok := in.addrs.(linkWatcher); ok && in.trackLink {
		link := newLinkDebouncer(in.linkDown, in.linkUp, func(up bool) {
			if up {
				send(FaultCleared{Source: FaultSourceInterface})
			} else {
				send(Fault{Source: FaultSourceInterface, Detail: "interface " + in.iface + " is down"})
			}
		})
		err := w.WatchLink(in.done, link.changed)
		if err != nil {
			in.log.Warn("not tracking the interface link", "err", err)
		}
	}
}

// receive forwards valid packets until the transport fails or is closed.
func (in *Instance) receive(adverts chan<- Received) error {
	for {
		r, err := in.t.Receive()
		var invalid *InvalidPacketError
		switch {
		case errors.As(err, &invalid):
			in.metrics.packetInvalid(in.iface, err)
			if errors.Is(err, ErrAuthType) && invalid.VRID == in.params.VRID {
				in.authMismatch(invalid)
				continue
			}
			in.log.Debug("dropped packet", "err", err)
			continue
		case err != nil:
			return err
		}
		select {
		case adverts <- r:
		case <-in.done:
			return nil
		}
	}
}

// authMismatch reports an advert of this VRID that uses VRRPv2
// authentication. Such a peer never hears kdcha and kdcha never hears it,
// so both become MASTER: warn (rate-limited), count it per instance and
// show it in the status.
func (in *Instance) authMismatch(p *InvalidPacketError) {
	in.metrics.advertDiscarded(in.name, p.Err)
	in.mu.Lock()
	warn, count := in.dropped.record(time.Now(), ReasonAuthTypeMismatch, p.Src)
	in.mu.Unlock()
	args := []any{"src", p.Src, "count", count, "err", p.Err}
	if !warn {
		in.log.Debug("advert dropped: authentication type mismatch", args...)
		return
	}
	in.log.Warn("adverts dropped: authentication type mismatch; this peer and kdcha cannot hear each other and may both be MASTER. "+
		"Remove the authentication block from the peer's keepalived configuration (kdcha sends none); logged at most once a minute per source", args...)
}

// accept filters packets meant for other instances or senders and turns
// the rest into machine input.
func (in *Instance) accept(r Received, state State) (AdvertReceived, bool) {
	p := r.Packet
	switch {
	case p.VRID != in.params.VRID:
		return AdvertReceived{}, false // another virtual router
	case p.Version != in.params.Version:
		in.warned.log(in.log, "advert with another VRRP version, ignored", r.Src, "version", p.Version)
		return AdvertReceived{}, false
	case in.peers != nil && !in.peers[r.Src]:
		in.warned.log(in.log, "advert from a source not in unicast_peers, ignored", r.Src)
		return AdvertReceived{}, false
	}
	if !slices.Equal(p.Addresses, in.vips) && p.Priority != 0 {
		// keepalived logs this too: usually a VRID collision or a
		// configuration that differs between nodes.
		in.warned.log(in.log, "advert lists other virtual addresses", r.Src, "addresses", p.Addresses)
	}
	in.metrics.advertReceived(in.name, state == StateMaster && p.Priority != 0)
	return AdvertReceived{Src: r.Src, Priority: p.Priority, Interval: p.Interval}, true
}

// maxQueuedAdverts bounds how many waiting adverts onTimer feeds before the
// timeout, so a flood of packets cannot hold the timer off for ever.
const maxQueuedAdverts = 16

// onTimer feeds the adverts already waiting, then the timeout. select picks
// among ready cases at random, and on a starved loop the master-down timer
// and the live master's advert are often ready together: taking the timer
// first would make a backup claim the VIP from a master it has just heard
// (a dual MASTER until the next advert). The machine ignores a timeout
// that an advert has pushed back.
func (in *Instance) onTimer(m *Machine, adverts <-chan Received, timer *time.Timer) {
	for range maxQueuedAdverts {
		select {
		case r := <-adverts:
			if a, ok := in.accept(r, m.State()); ok {
				in.apply(m, time.Now(), a, timer)
			}
			continue
		default:
		}
		break
	}
	in.apply(m, time.Now(), Timeout{}, timer)
}

// apply steps the machine and carries out its actions in order.
func (in *Instance) apply(m *Machine, now time.Time, i Input, timer *time.Timer) {
	out := m.Step(now, i)
	if _, ok := i.(VIPsRemoved); ok && len(out.Actions) > 0 {
		in.log.Warn("VIPs were removed from the interface while MASTER; restoring them")
	}
	if out.Discarded != nil {
		in.log.Debug("advert discarded", "reason", out.Discarded)
		in.metrics.advertDiscarded(in.name, out.Discarded)
	}
	// Status first, so that it agrees with the events the actions emit.
	in.mu.Lock()
	since := in.status.Since
	if in.status.State != m.State() || since.IsZero() {
		since = now
	}
	st := Status{State: m.State(), Priority: m.Priority(), Master: m.Master(), Since: since}
	in.status = st
	in.mu.Unlock()
	in.metrics.setStatus(in.name, st)
	for _, a := range out.Actions {
		in.do(now, a)
	}
	if out.Next.IsZero() {
		timer.Stop()
	} else {
		timer.Reset(time.Until(out.Next))
	}
}

func (in *Instance) do(now time.Time, a Action) {
	switch a := a.(type) {
	case SendAdvert:
		if in.muted.Load() {
			return
		}
		p := Packet{Version: in.params.Version, VRID: in.params.VRID, Priority: a.Priority,
			Interval: in.params.AdvertInterval, Addresses: in.vips}
		var errs []error
		for _, dst := range in.dsts {
			err := in.t.Send(p, in.params.PrimaryIP, dst)
			in.metrics.advertSent(in.name, err)
			if err != nil {
				errs = append(errs, err)
			}
		}
		switch err := errors.Join(errs...); {
		case err != nil && !in.sendFailing:
			in.log.Warn("sending advert failed; logged again only after recovery", "err", err)
		case err == nil && in.sendFailing:
			in.log.Info("sending adverts works again")
		}
		in.sendFailing = len(errs) > 0
	case AddVIPs:
		if err := in.addrs.Add(); err != nil {
			in.log.Error("adding VIPs", "err", err)
		}
	case RemoveVIPs:
		if err := in.addrs.Remove(); err != nil {
			in.log.Error("removing VIPs", "err", err)
		}
	case SendGARP:
		in.metrics.announced(in.name)
		if err := in.addrs.Announce(a.Count); err != nil {
			in.log.Warn("announcing VIPs", "err", err)
		}
	case Event:
		in.metrics.transition(in.name, a.State)
		in.log.Info("state change", "state", a.State, "previous", a.Previous, "priority", a.Priority, "reason", a.Reason, "detail", a.Detail)
		if in.onEvent != nil {
			in.onEvent(InstanceEvent{Instance: in.name, Time: now, Event: a})
		}
	}
}
