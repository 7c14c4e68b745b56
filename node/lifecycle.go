package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/kdcha/kdcha/health"
	"github.com/kdcha/kdcha/kdc/db"
	"github.com/kdcha/kdcha/notify"
	"github.com/kdcha/kdcha/vrrp"
)

// Phase is where a Node is in its lifecycle.
type Phase string

// The phases, in the order Start and Stop go through them.
const (
	// PhaseStarting: validating the configuration, opening the database,
	// binding every socket.
	PhaseStarting Phase = "starting"
	// PhaseServing: the KDC, kpasswd, admin API and metrics serve and the
	// health checks run; VRRP does not run yet.
	PhaseServing Phase = "serving"
	// PhaseCatchingUp: waiting for the replica to apply what the leader
	// has committed (bounded by catchUpLimit).
	PhaseCatchingUp Phase = "catching_up"
	// PhaseAwaitingVerdict: waiting for the first health verdict.
	PhaseAwaitingVerdict Phase = "awaiting_verdict"
	// PhaseRunning: the VRRP instances run; the node is ready.
	PhaseRunning Phase = "running"
	// PhaseStopping: handing over (Raft leadership, then the VIPs), then
	// stopping the services.
	PhaseStopping Phase = "stopping"
	// PhaseStopped: everything is closed.
	PhaseStopped Phase = "stopped"
)

const (
	// catchUpLimit bounds the wait for the replica at start: a node that
	// hears no leader (the rest of the cluster is down) must still serve
	// the VIP; the replica check then keeps its priority down.
	catchUpLimit = 10 * time.Second
	// catchUpPoll is how often the replica's progress is read at start.
	catchUpPoll = 100 * time.Millisecond
	// leadershipTransferLimit bounds the Raft leadership hand-over at stop.
	leadershipTransferLimit = 2 * time.Second
	// notifyDrainLimit bounds the delivery of queued notifications at stop
	// or when a reload replaces the sinks.
	notifyDrainLimit = 5 * time.Second
)

// The seams of the lifecycle: the product's come from the configuration
// (parts.go), the tests' are fakes.

// vrrpInstance is a *vrrp.Instance.
type vrrpInstance interface {
	statusSource
	Run(ctx context.Context) error
	SetPriorityDelta(ctx context.Context, delta int) error
	SetFault(ctx context.Context, source, detail string) error
	ClearFault(ctx context.Context, source string) error
}

// healthRunner is a *health.Runner (with the probe keytab refresher).
type healthRunner interface {
	verdictSource
	Run(ctx context.Context)
}

// replica is the node's database as the lifecycle sees it.
type replica interface {
	ClusterStatus() (db.ClusterStatus, error)
	TransferLeadership(ctx context.Context) error
	// Close stops the member's background work and closes the database.
	Close() error
}

// servers are the KDC, kpasswd, admin API and metrics, bound.
type servers interface {
	KDCAddrs() []string
	// Serve serves until ctx is cancelled or a service fails.
	Serve(ctx context.Context) error
	// close releases the sockets of servers never served.
	close()
}

// notifier is a *notify.Dispatcher.
type notifier interface {
	Publish(ev notify.Event) notify.Event
	Close(ctx context.Context) error
}

// clock is the time source of every wait of the lifecycle.
type clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// parts builds the pieces a Node runs.
type parts struct {
	clock clock
	// clustered is false for a cluster of one: its replica is always
	// current.
	clustered bool
	// openReplica opens the database (and cluster listener) and starts
	// the member's background work; nil for a node without one (mode
	// keepalived).
	openReplica func() (replica, error)
	// bind binds every service socket.
	bind func() (servers, error)
	// newNotifier starts the notification sinks of cfg.
	newNotifier func(cfg *Config) (notifier, error)
	// newHealth builds the checks of cfg probing kdcAddrs; onChange
	// receives its verdicts once it runs.
	newHealth func(cfg *Config, kdcAddrs []string, onChange func(health.Verdict)) (healthRunner, error)
	// openInstance binds one VRRP instance's sockets; onEvent receives its
	// transitions once it runs.
	openInstance func(cfg vrrp.InstanceConfig, onEvent func(vrrp.InstanceEvent)) (vrrpInstance, error)
	// leaderID is the Raft leader the replica follows ("" if none); nil
	// without a database (mode keepalived): no leader or quorum events.
	leaderID func() string
}

// task is a goroutine the Node can cancel and wait for.
type task struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func startTask(run func(ctx context.Context)) *task {
	ctx, cancel := context.WithCancel(context.Background())
	t := &task{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(t.done)
		run(ctx)
	}()
	return t
}

// stop cancels the task and waits for it; a nil task is stopped.
func (t *task) stop() {
	if t != nil {
		t.cancel()
		<-t.done
	}
}

// runningInstance is a VRRP instance whose Run is in progress.
type runningInstance struct {
	in vrrpInstance
	// cfg are its current settings; guarded by Node.imu once it runs.
	cfg vrrp.InstanceConfig
	// opened is the priority the instance was opened with; a reload that
	// changes only the priority moves the delta by the difference instead
	// of restarting it (see priorityOffset).
	opened int
	run    *task
}

// priorityOffset is what the configured priority adds to the health delta
// of an instance opened with another one.
func (r *runningInstance) priorityOffset() int { return r.cfg.Priority - r.opened }

// Node is one running agent with explicit phases: Start (validate, bind,
// serve, catch up, first verdict, then VRRP), Reload and Stop (hand over,
// then drain). Its methods are safe for concurrent use.
type Node struct {
	log     *slog.Logger
	level   *slog.LevelVar
	parts   parts
	live    *liveStatus
	onPhase func(Phase)
	// onReloading and onReloaded surround each reload Run makes.
	onReloading func()
	onReloaded  func(error)

	// mu serializes Start, Reload and Stop and guards the fields below.
	mu         sync.Mutex
	cfg        *Config
	phase      Phase
	replica    replica
	servers    servers
	serving    *task
	health     healthRunner
	healthRun  *task
	applier    *task
	events     *task // node-level notifications (nodeevents.go)
	instances  []*runningInstance
	notifier   notifier
	notifierMu sync.RWMutex // guards notifier for publishers
	closing    sync.WaitGroup
	kdcAddrs   []string
	// firstVerdict is the verdict VRRP starts with.
	firstVerdict health.Verdict

	// verdicts carries the newest verdict of the current health runner;
	// kick tells the applier that the instances or their offsets changed.
	verdicts chan health.Verdict
	kick     chan struct{}
	// imu guards instances for the applier, which must not wait on mu.
	imu sync.Mutex

	failOnce sync.Once
	failed   chan struct{}
	failErr  error
}

func newNode(cfg *Config, log *slog.Logger, level *slog.LevelVar, p parts, live *liveStatus, onPhase func(Phase)) *Node {
	if p.clock == nil {
		p.clock = realClock{}
	}
	if live == nil {
		live = &liveStatus{}
	}
	return &Node{
		log: log, level: level, parts: p, live: live, onPhase: onPhase, cfg: cfg,
		verdicts: make(chan health.Verdict, 1),
		kick:     make(chan struct{}, 1),
		failed:   make(chan struct{}),
	}
}

// Phase is the node's current phase.
func (n *Node) Phase() Phase {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.phase
}

func (n *Node) setPhase(p Phase) {
	n.phase = p
	n.log.Debug("node phase", "phase", string(p))
	if n.onPhase != nil {
		n.onPhase(p)
	}
}

// Failed is closed when a part of the running node fails for good (a
// service or a VRRP instance returned an error); Err then says why. The
// caller should Stop the node.
func (n *Node) Failed() <-chan struct{} { return n.failed }

// Err is the failure that closed Failed, or nil.
func (n *Node) Err() error {
	select {
	case <-n.failed:
		return n.failErr
	default:
		return nil
	}
}

func (n *Node) fail(err error) {
	n.failOnce.Do(func() {
		n.failErr = err
		n.log.Error("node part failed; stopping", "err", err)
		close(n.failed)
	})
}

// Start brings the node up: it validates the configuration and starts the
// notification sinks, opens the database, binds every socket (services and
// VRRP), then serves the KDC, kpasswd, admin API and metrics and runs the
// health checks, waits until the replica has caught up (or catchUpLimit)
// and the first health verdict is in, and only then runs the VRRP
// instances, with that verdict applied. On error everything started is
// stopped again. ctx bounds the waits.
func (n *Node) Start(ctx context.Context) (err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.phase != "" {
		return fmt.Errorf("node: start: already %s", n.phase)
	}
	n.setPhase(PhaseStarting)
	defer func() {
		if err != nil {
			n.stopLocked(context.Background(), false)
		}
	}()
	if err := n.cfg.Validate(); err != nil {
		return err
	}
	if n.notifier, err = n.parts.newNotifier(n.cfg); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	if n.parts.openReplica != nil { // nil: a node without a database
		if n.replica, err = n.parts.openReplica(); err != nil {
			return err
		}
	}
	if n.servers, err = n.parts.bind(); err != nil {
		return err
	}
	n.kdcAddrs = n.servers.KDCAddrs()
	n.live.setKDC(n.kdcAddrs)
	for _, ic := range n.cfg.VRRP.Instances {
		in, err := n.parts.openInstance(ic, n.instanceEvents(ic))
		if err != nil {
			return err
		}
		// Not run yet: on error stopLocked closes it.
		n.instances = append(n.instances, &runningInstance{in: in, cfg: ic, opened: ic.Priority})
	}
	if n.health, err = n.parts.newHealth(n.cfg, n.kdcAddrs, n.offerVerdict); err != nil {
		return err
	}

	srv := n.servers
	n.serving = startTask(func(ctx context.Context) {
		if err := srv.Serve(ctx); err != nil {
			n.fail(err)
		}
	})
	n.live.setHealth(n.health)
	n.healthRun = startTask(n.health.Run)
	n.setPhase(PhaseServing)

	if err := n.waitCaughtUp(ctx); err != nil {
		return err
	}
	n.setPhase(PhaseAwaitingVerdict)
	if err := n.waitFirstVerdict(ctx); err != nil {
		return err
	}
	for _, ri := range n.instances {
		n.runInstance(ri)
	}
	n.publishInstances()
	n.applier = startTask(n.applyVerdicts)
	n.events = startTask(func(ctx context.Context) { watchNodeEvents(ctx, n.observeNode, n.publishNodeEvent) })
	n.setPhase(PhaseRunning)
	return nil
}

// waitCaughtUp waits until the replica has applied every entry it knows
// committed, having heard a leader, or leads itself; a cluster of one is
// always current. After catchUpLimit it goes on with a warning.
func (n *Node) waitCaughtUp(ctx context.Context) error {
	if !n.parts.clustered {
		return nil
	}
	n.setPhase(PhaseCatchingUp)
	limit := n.parts.clock.After(catchUpLimit)
	for {
		st, err := n.replica.ClusterStatus()
		if err == nil && caughtUp(st) {
			n.log.Info("replica caught up", "applied_index", st.AppliedIndex, "commit_index", st.CommitIndex, "leader", st.LeaderID)
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("node: waiting for the replica to catch up: %w", ctx.Err())
		case <-limit:
			n.log.Warn("replica not caught up; starting VRRP anyway (the replica check keeps the priority down)",
				"limit", catchUpLimit, "applied_index", st.AppliedIndex, "commit_index", st.CommitIndex, "leader", st.LeaderID, "err", err)
			return nil
		case <-n.parts.clock.After(catchUpPoll):
		}
	}
}

// caughtUp reports whether a replica has everything the leader has
// committed, as far as it knows.
func caughtUp(st db.ClusterStatus) bool {
	if st.State == db.RoleLeader {
		return true
	}
	return st.LeaderID != "" && st.AppliedIndex >= st.CommitIndex
}

// waitFirstVerdict waits for a verdict with every check's first result in.
func (n *Node) waitFirstVerdict(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("node: waiting for the first health verdict: %w", ctx.Err())
		case v := <-n.verdicts:
			if !v.Pending {
				n.firstVerdict = v
				n.log.Info("first health verdict in; starting VRRP", "delta", v.Delta, "fault", v.Fault, "reason", v.Reason)
				return nil
			}
		}
	}
}

// offerVerdict hands v to the applier, replacing a verdict not yet taken:
// only the newest matters, and the health runner must never block on VRRP.
func (n *Node) offerVerdict(v health.Verdict) {
	for {
		select {
		case n.verdicts <- v:
			return
		default:
			select {
			case <-n.verdicts:
			default:
			}
		}
	}
}

func (n *Node) kickApplier() {
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

// applyVerdicts feeds the settled verdict to every instance: the summed
// weights (plus the instance's priority offset) as a priority delta, and
// a weight-0 failure as a fault. A pending verdict (a reloaded runner
// without results yet) never replaces a settled one.
func (n *Node) applyVerdicts(ctx context.Context) {
	v := n.firstVerdict
	for {
		type target struct {
			in     vrrpInstance
			offset int
		}
		n.imu.Lock()
		targets := make([]target, 0, len(n.instances))
		for _, ri := range n.instances {
			targets = append(targets, target{ri.in, ri.priorityOffset()})
		}
		n.imu.Unlock()
		for _, ri := range targets {
			err := ri.in.SetPriorityDelta(ctx, v.Delta+ri.offset)
			if v.Fault {
				err = errors.Join(err, ri.in.SetFault(ctx, "health", v.Reason))
			} else {
				err = errors.Join(err, ri.in.ClearFault(ctx, "health"))
			}
			if err != nil && ctx.Err() == nil && !errors.Is(err, vrrp.ErrStopped) {
				n.log.Warn("cannot apply health verdict", "instance", ri.in.Name(), "err", err)
			}
		}
		for {
			select {
			case <-ctx.Done():
				return
			case nv := <-n.verdicts:
				if nv.Pending {
					continue
				}
				v = nv
			case <-n.kick:
			}
			break
		}
	}
}

// runInstance starts ri's Run; an error from it stops the node, unless
// the node cancelled it.
func (n *Node) runInstance(ri *runningInstance) {
	in := ri.in
	ri.run = startTask(func(ctx context.Context) {
		if err := in.Run(ctx); err != nil && ctx.Err() == nil {
			n.fail(fmt.Errorf("vrrp instance %s: %w", in.Name(), err))
		}
	})
}

func (n *Node) publishInstances() {
	n.imu.Lock()
	defer n.imu.Unlock()
	src := make([]statusSource, 0, len(n.instances))
	for _, ri := range n.instances {
		src = append(src, ri.in)
	}
	n.live.setInstances(src)
}

// instanceEvents turns an instance's transitions into notifications,
// published to whichever sinks are current.
func (n *Node) instanceEvents(ic vrrp.InstanceConfig) func(vrrp.InstanceEvent) {
	vips, _ := ic.VIPs() // validated with the configuration
	return func(e vrrp.InstanceEvent) {
		if ev, ok := notifyEvent(e, vips); ok {
			n.notifierMu.RLock()
			defer n.notifierMu.RUnlock()
			n.notifier.Publish(ev)
		}
	}
}

// Stop stops the node gracefully: a Raft leader hands leadership over
// (bounded by leadershipTransferLimit), every VRRP instance resigns and its
// Run returns (the KDC and kpasswd keep serving until then, so the VIP is
// answered until a successor holds it), then the health checks, services
// and notification sinks (drained, bounded) stop and the database closes.
// ctx bounds the leadership transfer. Stop is idempotent.
func (n *Node) Stop(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.stopLocked(ctx, true)
}

func (n *Node) stopLocked(ctx context.Context, handOver bool) error {
	if n.phase == PhaseStopped {
		return nil
	}
	n.setPhase(PhaseStopping)
	if handOver && n.replica != nil {
		tctx, cancel := context.WithTimeout(ctx, leadershipTransferLimit)
		if err := n.replica.TransferLeadership(tctx); err != nil {
			n.log.Warn("raft leadership not handed over before stopping", "err", err)
		}
		cancel()
	}
	n.events.stop()
	n.applier.stop()
	n.stopInstances(n.instances)
	n.healthRun.stop()
	if n.serving != nil {
		n.serving.stop()
	} else if n.servers != nil {
		n.servers.close()
	}
	var err error
	if n.notifier != nil {
		n.closeNotifier(n.notifier)
	}
	n.closing.Wait()
	if n.replica != nil {
		err = n.replica.Close()
	}
	n.setPhase(PhaseStopped)
	return err
}

// stopInstances cancels every instance's Run and waits for all of them:
// each resigns and keeps its VIPs until a successor is heard (bounded by
// vrrp). Opened instances that never ran are run with a cancelled context,
// which closes their sockets.
func (n *Node) stopInstances(ris []*runningInstance) {
	var wg sync.WaitGroup
	for _, ri := range ris {
		if ri.run != nil {
			wg.Go(ri.run.stop)
			continue
		}
		in := ri.in
		wg.Go(func() {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			in.Run(ctx)
		})
	}
	wg.Wait()
}

// closeNotifier drains and closes sinks in the background (bounded by
// notifyDrainLimit); Stop waits for it.
func (n *Node) closeNotifier(old notifier) {
	n.closing.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), notifyDrainLimit)
		defer cancel()
		if err := old.Close(ctx); err != nil {
			n.log.Warn("notifications not all delivered", "err", err)
		}
	})
}
