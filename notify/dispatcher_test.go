package notify

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// fakeSink reports each Deliver on channels and, when release is set, holds
// every delivery until release yields or ctx ends.
type fakeSink struct {
	started chan Event
	done    chan Event
	release chan struct{}
}

func newFakeSink(blocking bool) *fakeSink {
	f := &fakeSink{started: make(chan Event, 1000), done: make(chan Event, 1000)}
	if blocking {
		f.release = make(chan struct{})
	}
	return f
}

func (f *fakeSink) Deliver(ctx context.Context, ev Event) error {
	f.started <- ev
	if f.release != nil {
		select {
		case <-f.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f.done <- ev
	return nil
}

func newTestDispatcher(t *testing.T, targets ...Target) (*Dispatcher, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	now := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	d, err := NewDispatcher(Options{Node: "kdc1", Logger: quietLog, Registerer: reg, Now: func() time.Time { return now }}, targets...)
	if err != nil {
		t.Fatalf("NewDispatcher: %v", err)
	}
	return d, reg
}

func TestPublishStampsEvents(t *testing.T) {
	sink := newFakeSink(false)
	d, _ := newTestDispatcher(t, Target{Name: "fake", Sink: sink, QueueSize: 10})
	vips := []netip.Prefix{netip.MustParsePrefix("192.0.2.10/32")}
	given := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

	tests := []struct {
		in       Event
		wantSeq  uint64
		wantNode string
		wantTime time.Time
	}{
		{in: Event{Instance: "VI_1", State: StateMaster, VIPs: vips}, wantSeq: 1, wantNode: "kdc1", wantTime: d.now()},
		{in: Event{Instance: "VI_2", State: StateBackup, Seq: 99}, wantSeq: 1, wantNode: "kdc1", wantTime: d.now()},
		{in: Event{Instance: "VI_1", State: StateFault, Node: "other", Time: given}, wantSeq: 2, wantNode: "other", wantTime: given},
		{in: Event{Instance: "VI_1", State: StateStop}, wantSeq: 3, wantNode: "kdc1", wantTime: d.now()},
	}
	for _, tt := range tests {
		got := d.Publish(tt.in)
		if got.Seq != tt.wantSeq || got.Node != tt.wantNode || !got.Time.Equal(tt.wantTime) {
			t.Errorf("Publish(%+v) = seq %d node %q time %v; want %d %q %v",
				tt.in, got.Seq, got.Node, got.Time, tt.wantSeq, tt.wantNode, tt.wantTime)
		}
		if delivered := recv(t, sink.done, "delivery"); delivered.Seq != got.Seq || delivered.Instance != got.Instance {
			t.Errorf("sink got %s#%d, Publish returned %s#%d", delivered.Instance, delivered.Seq, got.Instance, got.Seq)
		}
	}
	// The caller may reuse its slice once Publish returns.
	vips[0] = netip.MustParsePrefix("198.51.100.1/32")
	ev := d.Publish(Event{Instance: "VI_3", VIPs: vips})
	vips[0] = netip.MustParsePrefix("203.0.113.1/32")
	if got := recv(t, sink.done, "delivery"); got.VIPs[0] != netip.MustParsePrefix("198.51.100.1/32") || ev.VIPs[0] != got.VIPs[0] {
		t.Errorf("VIPs changed after Publish: %v", got.VIPs)
	}
	closeNow(t, d)
}

// TestSlowSinkDelaysNothing holds one sink forever: Publish must still
// return, the other sink must get every event in order, and the held sink's
// queue must drop its oldest events beyond the bound, counting them.
func TestSlowSinkDelaysNothing(t *testing.T) {
	slow, fast := newFakeSink(true), newFakeSink(false)
	d, reg := newTestDispatcher(t,
		Target{Name: "slow", Sink: slow, QueueSize: 2},
		Target{Name: "fast", Sink: fast, QueueSize: 100})

	d.Publish(Event{Instance: "VI_1", State: StateMaster})
	if got := recv(t, slow.started, "slow sink to start"); got.Seq != 1 {
		t.Fatalf("slow sink started with seq %d, want 1", got.Seq)
	}
	published := make(chan struct{})
	go func() {
		for range 5 {
			d.Publish(Event{Instance: "VI_1", State: StateBackup})
		}
		close(published)
	}()
	recv(t, published, "Publish to return while a sink is stuck")
	for want := uint64(1); want <= 6; want++ {
		if got := recv(t, fast.done, "fast sink"); got.Seq != want {
			t.Fatalf("fast sink got seq %d, want %d", got.Seq, want)
		}
	}
	if got := metric(t, reg, "kdcha_notify_dropped_total", "slow"); got != 3 {
		t.Errorf("slow dropped = %v, want 3 (seq 2-4)", got)
	}
	if got := metric(t, reg, "kdcha_notify_queued", "slow"); got != 2 {
		t.Errorf("slow queued = %v, want 2", got)
	}
	if got := metric(t, reg, "kdcha_notify_dropped_total", "fast"); got != 0 {
		t.Errorf("fast dropped = %v, want 0", got)
	}

	close(slow.release)
	closeNow(t, d)
	var seqs []uint64
	for range 3 {
		seqs = append(seqs, recv(t, slow.done, "slow sink").Seq)
	}
	if want := []uint64{1, 5, 6}; !slices.Equal(seqs, want) {
		t.Errorf("slow sink delivered %v, want %v: the newest events survive", seqs, want)
	}
	if got := metric(t, reg, "kdcha_notify_sent_total", "slow"); got != 3 {
		t.Errorf("slow sent = %v, want 3", got)
	}
}

// TestInstancesAreIndependent holds one instance's delivery: another
// instance's events must still flow through the same sink, each in order.
func TestInstancesAreIndependent(t *testing.T) {
	sink := &gatedSink{gates: map[string]chan struct{}{"VI_1": make(chan struct{})}, done: make(chan Event, 100)}
	d, _ := newTestDispatcher(t, Target{Name: "gated", Sink: sink, QueueSize: 100})
	for range 3 {
		d.Publish(Event{Instance: "VI_1"})
		d.Publish(Event{Instance: "VI_2"})
	}
	for want := uint64(1); want <= 3; want++ {
		if got := recv(t, sink.done, "VI_2 delivery"); got.Instance != "VI_2" || got.Seq != want {
			t.Fatalf("got %s#%d, want VI_2#%d while VI_1 is held", got.Instance, got.Seq, want)
		}
	}
	close(sink.gates["VI_1"])
	for want := uint64(1); want <= 3; want++ {
		if got := recv(t, sink.done, "VI_1 delivery"); got.Instance != "VI_1" || got.Seq != want {
			t.Fatalf("got %s#%d, want VI_1#%d", got.Instance, got.Seq, want)
		}
	}
	closeNow(t, d)
}

// gatedSink holds the deliveries of the instances that have a gate until
// the gate is closed.
type gatedSink struct {
	gates map[string]chan struct{}
	done  chan Event
}

func (g *gatedSink) Deliver(ctx context.Context, ev Event) error {
	if gate, ok := g.gates[ev.Instance]; ok {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	g.done <- ev
	return nil
}

func TestCloseDeadlineCancelsAndCounts(t *testing.T) {
	sink := newFakeSink(true)
	d, reg := newTestDispatcher(t, Target{Name: "stuck", Sink: sink, QueueSize: 10})
	d.Publish(Event{Instance: "VI_1"})
	recv(t, sink.started, "delivery to start")
	d.Publish(Event{Instance: "VI_1"})
	d.Publish(Event{Instance: "VI_1"})

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := d.Close(ctx)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "sink stuck: 2 queued events dropped") {
		t.Errorf("Close = %v, want context.Canceled naming 2 dropped events of sink stuck", err)
	}
	d.Publish(Event{Instance: "VI_1"})
	for name, want := range map[string]float64{
		"kdcha_notify_failed_total":  1, // the cancelled delivery in flight
		"kdcha_notify_dropped_total": 3, // two queued at Close, one published after
		"kdcha_notify_sent_total":    0,
		"kdcha_notify_queued":        0,
	} {
		if got := metric(t, reg, name, "stuck"); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}

func TestCloseDrains(t *testing.T) {
	sink := newFakeSink(true)
	d, reg := newTestDispatcher(t, Target{Name: "fake", Sink: sink, QueueSize: 10})
	for range 4 {
		d.Publish(Event{Instance: "VI_1"})
	}
	recv(t, sink.started, "delivery to start")
	close(sink.release)
	closeNow(t, d)
	if got := metric(t, reg, "kdcha_notify_sent_total", "fake"); got != 4 {
		t.Errorf("sent = %v after Close, want all 4", got)
	}
}

func TestTargetFilter(t *testing.T) {
	sink := newFakeSink(false)
	d, reg := newTestDispatcher(t, Target{Name: "only-vi2", Sink: sink, QueueSize: 10, Instance: "VI_2"})
	d.Publish(Event{Instance: "VI_1"})
	d.Publish(Event{Instance: "VI_2"})
	closeNow(t, d)
	if got := recv(t, sink.done, "delivery"); got.Instance != "VI_2" {
		t.Errorf("filtered target got %s", got.Instance)
	}
	if got := metric(t, reg, "kdcha_notify_sent_total", "only-vi2"); got != 1 {
		t.Errorf("sent = %v, want 1", got)
	}
}

func TestNewDispatcherErrors(t *testing.T) {
	sink := newFakeSink(false)
	tests := []struct {
		name    string
		targets []Target
		reg     prometheus.Registerer
		want    string
	}{
		{"duplicate name", []Target{{Name: "a", Sink: sink}, {Name: "a", Sink: sink}}, nil, `two targets named "a"`},
		{"nil sink", []Target{{Name: "a"}}, nil, `target "a" has no sink`},
		{"metrics registered twice", []Target{{Name: "a", Sink: sink}}, registeredTwice(t), "register metrics"},
	}
	for _, tt := range tests {
		_, err := NewDispatcher(Options{Logger: quietLog, Registerer: tt.reg}, tt.targets...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
}

// registeredTwice returns a registry that already holds notify metrics.
func registeredTwice(t *testing.T) prometheus.Registerer {
	reg := prometheus.NewPedanticRegistry()
	if _, err := NewDispatcher(Options{Registerer: reg}); err != nil {
		t.Fatalf("first NewDispatcher: %v", err)
	}
	return reg
}
