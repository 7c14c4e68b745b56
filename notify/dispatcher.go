package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Options are the Dispatcher's dependencies, given by the main program.
type Options struct {
	// Node fills Event.Node when the publisher leaves it empty; usually the
	// host name.
	Node string
	// Logger receives delivery failures and drops; nil means slog.Default().
	Logger *slog.Logger
	// Registerer, when set, gets the sink metrics (see metrics.go).
	Registerer prometheus.Registerer
	// Now stamps events published without a time; nil means time.Now.
	Now func() time.Time
}

// Dispatcher fans events out to sinks without ever blocking the publisher.
// It is safe for concurrent use.
type Dispatcher struct {
	node   string
	now    func() time.Time
	queues []*queue

	// mu makes sequence assignment and enqueueing one step, so that two
	// goroutines publishing for the same instance cannot enqueue out of
	// sequence order.
	mu  sync.Mutex
	seq map[string]uint64
}

// NewDispatcher starts a Dispatcher over the given targets. It fails when
// target names repeat, a target has no sink, or the metrics cannot be
// registered.
func NewDispatcher(opts Options, targets ...Target) (*Dispatcher, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	d := &Dispatcher{node: opts.Node, now: opts.Now, seq: make(map[string]uint64)}
	if d.now == nil {
		d.now = time.Now
	}
	names := make(map[string]bool, len(targets))
	for _, t := range targets {
		if t.Sink == nil {
			return nil, fmt.Errorf("notify: target %q has no sink", t.Name)
		}
		if names[t.Name] {
			return nil, fmt.Errorf("notify: two targets named %q", t.Name)
		}
		names[t.Name] = true
		d.queues = append(d.queues, newQueue(t, log))
	}
	if opts.Registerer != nil {
		if err := opts.Registerer.Register(collector{d}); err != nil {
			return nil, fmt.Errorf("notify: register metrics: %w", err)
		}
	}
	return d, nil
}

// Publish stamps ev and queues it for every sink, and returns the stamped
// event. It never waits for a delivery. Publish assigns Seq (any value the
// caller set is replaced), fills Node and Time when empty and copies VIPs,
// so the caller may reuse its slice. After Close the event is counted as
// dropped by every sink.
func (d *Dispatcher) Publish(ev Event) Event {
	if ev.Type == "" {
		ev.Type = TypeVRRP
	}
	if ev.Type != TypeVRRP {
		ev.Instance = nodeStream
	}
	if ev.Node == "" {
		ev.Node = d.node
	}
	if ev.Time.IsZero() {
		ev.Time = d.now()
	}
	ev.VIPs = slices.Clone(ev.VIPs)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.seq[ev.Instance]++
	ev.Seq = d.seq[ev.Instance]
	for _, q := range d.queues {
		q.push(ev)
	}
	return ev
}

// Close stops accepting events and waits until every queued event has been
// delivered or given up, or until ctx ends. In the latter case deliveries in
// flight are cancelled (a running script gets SIGTERM, then SIGKILL after its
// grace period), waiting events are counted as dropped, and the error says
// how many were lost per sink.
func (d *Dispatcher) Close(ctx context.Context) error {
	errs := make([]error, len(d.queues))
	var wg sync.WaitGroup
	for i, q := range d.queues {
		wg.Go(func() { errs[i] = q.close(ctx) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("notify: close: %w", err)
	}
	return nil
}
