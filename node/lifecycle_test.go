package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kdcha/kdcha/health"
	"github.com/kdcha/kdcha/kdc/db"
	"github.com/kdcha/kdcha/notify"
	"github.com/kdcha/kdcha/vrrp"
)

// recorder is the ordered log of what the fakes saw; tests wait on it
// instead of sleeping.
type recorder struct {
	mu      sync.Mutex
	events  []string
	changed chan struct{}
}

func newRecorder() *recorder { return &recorder{changed: make(chan struct{})} }

func (r *recorder) add(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, fmt.Sprintf(format, args...))
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *recorder) snapshot() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

func (r *recorder) has(ev string) bool { return slices.Contains(r.snapshot(), ev) }

// wait blocks until ev was recorded; the deadline only turns a hang into
// a failure.
func (r *recorder) wait(t *testing.T, ev string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		r.mu.Lock()
		found, changed := slices.Contains(r.events, ev), r.changed
		r.mu.Unlock()
		if found {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("%q never happened; events: %q", ev, r.snapshot())
		}
	}
}

// waitCount blocks until ev was recorded n times.
func (r *recorder) waitCount(t *testing.T, ev string, n int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		r.mu.Lock()
		count, changed := 0, r.changed
		for _, e := range r.events {
			if e == ev {
				count++
			}
		}
		r.mu.Unlock()
		if count >= n {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("%q happened %d times, want %d; events: %q", ev, count, n, r.snapshot())
		}
	}
}

// before asserts that a was recorded before b.
func (r *recorder) before(t *testing.T, a, b string) {
	t.Helper()
	evs := r.snapshot()
	i, j := slices.Index(evs, a), slices.Index(evs, b)
	if i < 0 || j < 0 || i > j {
		t.Errorf("want %q before %q; events: %q", a, b, evs)
	}
}

// fakeClock fires After channels only when the test advances it.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
	rec     *recorder
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.waiters = append(c.waiters, fakeWaiter{c.now.Add(d), ch})
	c.rec.add("clock: wait %v", d)
	return ch
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(c.now) {
			kept = append(kept, w)
			continue
		}
		w.ch <- c.now
	}
	c.waiters = kept
}

type fakeReplica struct {
	rec *recorder
	mu  sync.Mutex
	st  db.ClusterStatus
}

func (f *fakeReplica) set(st db.ClusterStatus) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.st = st
}

func (f *fakeReplica) ClusterStatus() (db.ClusterStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st, nil
}

func (f *fakeReplica) TransferLeadership(ctx context.Context) error {
	f.mu.Lock()
	leader := f.st.State == db.RoleLeader
	f.mu.Unlock()
	if leader {
		f.rec.add("raft: leadership transferred")
	}
	return nil
}

func (f *fakeReplica) Close() error {
	f.rec.add("db: closed")
	return nil
}

type fakeServers struct{ rec *recorder }

func (f *fakeServers) KDCAddrs() []string { return []string{"127.0.0.1:88"} }

func (f *fakeServers) Serve(ctx context.Context) error {
	f.rec.add("services: serving")
	<-ctx.Done()
	f.rec.add("services: stopped")
	return nil
}

func (f *fakeServers) close() { f.rec.add("services: closed unserved") }

type fakeNotifier struct {
	rec  *recorder
	name string
}

func (f *fakeNotifier) Publish(ev notify.Event) notify.Event {
	f.rec.add("notify %s: %s %s", f.name, ev.Instance, ev.State)
	return ev
}

func (f *fakeNotifier) Close(context.Context) error {
	f.rec.add("notify %s: closed", f.name)
	return nil
}

// fakeHealth hands its OnChange to the test, which publishes verdicts.
type fakeHealth struct {
	rec      *recorder
	name     string
	onChange func(health.Verdict)
}

func (f *fakeHealth) Verdict() health.Verdict   { return health.Verdict{} }
func (f *fakeHealth) Statuses() []health.Status { return nil }

func (f *fakeHealth) Run(ctx context.Context) {
	f.rec.add("health %s: running", f.name)
	// A pending verdict may carry a delta (init_fail); it must never be
	// applied over a settled one.
	f.onChange(health.Verdict{Pending: true, Delta: -99})
	f.rec.add("health %s: published pending", f.name)
	<-ctx.Done()
	f.rec.add("health %s: stopped", f.name)
}

// fakeInstance records its inputs; once cancelled, its Run returns when
// the test releases it (a real instance waits for a successor's advert).
type fakeInstance struct {
	rec     *recorder
	cfg     vrrp.InstanceConfig
	id      int
	release chan struct{} // nil: return at once when cancelled
	mu      sync.Mutex
	stopped bool
}

func (f *fakeInstance) Name() string        { return f.cfg.Name }
func (f *fakeInstance) Status() vrrp.Status { return vrrp.Status{Priority: uint8(f.cfg.Priority)} }

func (f *fakeInstance) Run(ctx context.Context) error {
	f.rec.add("vrrp %s#%d: running", f.cfg.Name, f.id)
	<-ctx.Done()
	f.rec.add("vrrp %s#%d: resigning", f.cfg.Name, f.id)
	if f.release != nil {
		<-f.release
	}
	f.mu.Lock()
	f.stopped = true
	f.mu.Unlock()
	f.rec.add("vrrp %s#%d: returned", f.cfg.Name, f.id)
	return nil
}

func (f *fakeInstance) input(format string, args ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped {
		return vrrp.ErrStopped
	}
	f.rec.add("vrrp %s#%d: %s", f.cfg.Name, f.id, fmt.Sprintf(format, args...))
	return nil
}

func (f *fakeInstance) SetPriorityDelta(_ context.Context, d int) error {
	return f.input("delta %d", d)
}
func (f *fakeInstance) SetFault(_ context.Context, src, _ string) error {
	return f.input("fault %s", src)
}
func (f *fakeInstance) ClearFault(_ context.Context, src string) error {
	return f.input("clear %s", src)
}

// harness is a Node built from fakes.
type harness struct {
	t       *testing.T
	rec     *recorder
	clock   *fakeClock
	replica *fakeReplica
	node    *Node
	mu      sync.Mutex
	healths []*fakeHealth
	opened  map[string]*fakeInstance // newest instance per name
	opens   int
	release chan struct{} // handed to every instance
	bindErr error
}

func testConfig(t *testing.T, instances ...vrrp.InstanceConfig) *Config {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Realm = "TEST.REALM"
	cfg.Node.Name = "n1"
	cfg.Node.DataDir = t.TempDir()
	cfg.Node.AdminSocket = filepath.Join(t.TempDir(), "admin.sock")
	cfg.VRRP.Instances = instances
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return &cfg
}

func testInstance(name string, vrid, priority int, vip string) vrrp.InstanceConfig {
	ic := vrrp.DefaultInstanceConfig()
	ic.Name, ic.Interface, ic.VRID, ic.Priority = name, "eth0", vrid, priority
	ic.VirtualIPAddresses = []string{vip}
	return ic
}

func newHarness(t *testing.T, cfg *Config, clustered bool) *harness {
	rec := newRecorder()
	h := &harness{t: t, rec: rec, clock: &fakeClock{now: time.Unix(1e9, 0), rec: rec}, replica: &fakeReplica{rec: rec}, opened: map[string]*fakeInstance{}}
	notifiers := 0
	p := parts{
		clock:       h.clock,
		clustered:   clustered,
		openReplica: func() (replica, error) { rec.add("db: opened"); return h.replica, nil },
		bind: func() (servers, error) {
			if h.bindErr != nil {
				return nil, h.bindErr
			}
			rec.add("services: bound")
			return &fakeServers{rec: rec}, nil
		},
		newNotifier: func(cfg *Config) (notifier, error) {
			notifiers++
			return &fakeNotifier{rec: rec, name: fmt.Sprint(notifiers)}, nil
		},
		newHealth: func(cfg *Config, _ []string, onChange func(health.Verdict)) (healthRunner, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			fh := &fakeHealth{rec: rec, name: fmt.Sprint(len(h.healths) + 1), onChange: onChange}
			h.healths = append(h.healths, fh)
			return fh, nil
		},
		openInstance: func(ic vrrp.InstanceConfig, _ func(vrrp.InstanceEvent)) (vrrpInstance, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.opens++
			fi := &fakeInstance{rec: rec, cfg: ic, id: h.opens, release: h.release}
			h.opened[ic.Name] = fi
			rec.add("vrrp %s#%d: opened", ic.Name, fi.id)
			return fi, nil
		},
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	h.node = newNode(cfg, quiet, new(slog.LevelVar), p, nil, func(ph Phase) { rec.add("phase %s", ph) })
	return h
}

// verdict publishes v from the newest health runner, after its initial
// pending verdict (a real runner's verdicts come in order).
func (h *harness) verdict(v health.Verdict) {
	h.mu.Lock()
	fh := h.healths[len(h.healths)-1]
	h.mu.Unlock()
	h.rec.wait(h.t, "health "+fh.name+": published pending")
	h.rec.add("test: verdict delta=%d pending=%v", v.Delta, v.Pending)
	fh.onChange(v)
}

// start runs Start in the background; the returned channel gets its error.
func (h *harness) start() chan error {
	errc := make(chan error, 1)
	go func() { errc <- h.node.Start(context.Background()) }()
	return errc
}

func (h *harness) mustStart() {
	h.t.Helper()
	errc := h.start()
	h.rec.wait(h.t, "phase awaiting_verdict")
	h.verdict(health.Verdict{Delta: 0})
	if err := <-errc; err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { h.node.Stop(context.Background()) })
}

// TestStartRunsVRRPOnlyAfterFirstVerdict: the services serve and the
// checks run before VRRP; a pending verdict does not start VRRP, the first
// settled one does, and it is applied right away.
func TestStartRunsVRRPOnlyAfterFirstVerdict(t *testing.T) {
	h := newHarness(t, testConfig(t, testInstance("VI_1", 51, 150, "192.0.2.10/24")), false)
	errc := h.start()
	h.rec.wait(t, "phase awaiting_verdict")
	h.rec.wait(t, "health 1: running")
	h.rec.wait(t, "services: serving")
	if h.rec.has("vrrp VI_1#1: running") {
		t.Fatalf("VRRP runs before the first verdict: %q", h.rec.snapshot())
	}
	h.verdict(health.Verdict{Pending: true})
	h.verdict(health.Verdict{Delta: -20})
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	defer h.node.Stop(context.Background())
	h.rec.wait(t, "vrrp VI_1#1: delta -20")
	h.rec.wait(t, "vrrp VI_1#1: running")
	h.rec.before(t, "services: bound", "services: serving")
	h.rec.before(t, "test: verdict delta=-20 pending=false", "vrrp VI_1#1: running")
	if got := h.node.Phase(); got != PhaseRunning {
		t.Errorf("phase %s, want running", got)
	}
}

// TestStartWaitsForReplicaCatchUp: a follower that has not applied what
// the leader committed does not run VRRP, even with a verdict, until it
// has.
func TestStartWaitsForReplicaCatchUp(t *testing.T) {
	h := newHarness(t, testConfig(t, testInstance("VI_1", 51, 150, "192.0.2.10/24")), true)
	h.replica.set(db.ClusterStatus{State: db.RoleFollower, LeaderID: "n2", CommitIndex: 10, AppliedIndex: 5})
	errc := h.start()
	h.rec.wait(t, "phase catching_up")
	h.rec.waitCount(t, "clock: wait 100ms", 1)
	h.verdict(health.Verdict{}) // a verdict alone does not start VRRP
	h.clock.advance(catchUpPoll)
	h.rec.waitCount(t, "clock: wait 100ms", 2) // still behind: polls again
	if h.rec.has("phase awaiting_verdict") {
		t.Fatalf("a replica behind its leader counted as caught up: %q", h.rec.snapshot())
	}
	h.replica.set(db.ClusterStatus{State: db.RoleFollower, LeaderID: "n2", CommitIndex: 10, AppliedIndex: 10})
	h.clock.advance(catchUpPoll)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	defer h.node.Stop(context.Background())
	h.rec.wait(t, "vrrp VI_1#1: running")
	h.rec.before(t, "phase awaiting_verdict", "vrrp VI_1#1: running")
}

// TestStartCatchUpIsBounded: a node that hears no leader (the rest of the
// cluster is down) still runs VRRP after catchUpLimit.
func TestStartCatchUpIsBounded(t *testing.T) {
	h := newHarness(t, testConfig(t, testInstance("VI_1", 51, 150, "192.0.2.10/24")), true)
	h.replica.set(db.ClusterStatus{State: db.RoleCandidate})
	errc := h.start()
	h.rec.wait(t, "clock: wait 100ms")
	h.clock.advance(catchUpLimit)
	h.rec.wait(t, "phase awaiting_verdict")
	h.verdict(health.Verdict{})
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	h.node.Stop(context.Background())
}

// TestStopOrder: a leader hands Raft leadership over first; then every
// instance resigns, and the services keep serving until every instance's
// Run has returned; then services, notifications and the database close.
func TestStopOrder(t *testing.T) {
	h := newHarness(t, testConfig(t, testInstance("VI_1", 51, 150, "192.0.2.10/24"), testInstance("VI_2", 52, 150, "192.0.2.11/24")), true)
	h.release = make(chan struct{})
	h.replica.set(db.ClusterStatus{State: db.RoleLeader, LeaderID: "n1"})
	h.mustStart()
	stopped := make(chan error, 1)
	go func() { stopped <- h.node.Stop(context.Background()) }()
	h.rec.wait(t, "vrrp VI_1#1: resigning")
	h.rec.wait(t, "vrrp VI_2#2: resigning")
	if h.rec.has("services: stopped") {
		t.Fatalf("services stopped while instances still hold their VIPs: %q", h.rec.snapshot())
	}
	close(h.release)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	for _, ev := range []string{"vrrp VI_1#1: resigning", "vrrp VI_2#2: resigning"} {
		h.rec.before(t, "raft: leadership transferred", ev)
	}
	for _, ev := range []string{"vrrp VI_1#1: returned", "vrrp VI_2#2: returned"} {
		h.rec.before(t, ev, "services: stopped")
	}
	h.rec.before(t, "services: stopped", "notify 1: closed")
	h.rec.before(t, "notify 1: closed", "db: closed")
	h.rec.before(t, "db: closed", "phase stopped")
	if err := h.node.Stop(context.Background()); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// TestStartFailureClosesWhatWasOpened: a socket that cannot be bound stops
// the start, and what was already open is closed.
func TestStartFailureClosesWhatWasOpened(t *testing.T) {
	h := newHarness(t, testConfig(t), false)
	h.bindErr = errors.New("kdc: address in use")
	if err := h.node.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "address in use") {
		t.Fatalf("Start = %v", err)
	}
	h.rec.before(t, "db: opened", "notify 1: closed")
	h.rec.before(t, "notify 1: closed", "db: closed")
	if h.rec.has("raft: leadership transferred") {
		t.Error("a node that never ran handed over leadership")
	}
}

// TestFailedPartStopsNode: an instance whose Run fails closes Failed.
func TestFailedPartStopsNode(t *testing.T) {
	h := newHarness(t, testConfig(t), false)
	h.mustStart()
	h.node.fail(errors.New("vrrp instance VI_1: receive: boom"))
	<-h.node.Failed()
	if err := h.node.Err(); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("Err = %v", err)
	}
}
