package notify

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
)

// queue runs one Target: a bounded FIFO lane per instance and, while a lane
// has work, one goroutine draining it. One goroutine per lane keeps an
// instance's events in order without letting one instance's slow receiver
// hold up another's.
type queue struct {
	target Target
	log    *slog.Logger
	// ctx is handed to Deliver; cancel aborts deliveries in flight when
	// Close runs out of time.
	ctx    context.Context
	cancel context.CancelFunc

	sent, failed, dropped atomic.Uint64

	mu     sync.Mutex
	lanes  map[string]*lane
	queued int
	closed bool
	wg     sync.WaitGroup
}

// lane holds the events of one instance waiting for one target.
type lane struct {
	pending []Event
}

func newQueue(t Target, log *slog.Logger) *queue {
	if t.QueueSize < 1 {
		t.QueueSize = 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &queue{
		target: t,
		log:    log.With("sink", t.Name),
		ctx:    ctx,
		cancel: cancel,
		lanes:  make(map[string]*lane),
	}
}

// push enqueues ev without ever waiting for a delivery.
func (q *queue) push(ev Event) {
	if !q.target.wants(ev) {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		q.dropped.Add(1)
		q.log.Warn("notify: event dropped, dispatcher closed", "instance", ev.Instance, "seq", ev.Seq)
		return
	}
	l, busy := q.lanes[ev.Instance]
	if !busy {
		l = &lane{}
		q.lanes[ev.Instance] = l
	}
	if len(l.pending) >= q.target.QueueSize {
		old := l.pending[0]
		l.pending[0] = Event{}
		l.pending = l.pending[1:]
		q.queued--
		q.dropped.Add(1)
		q.log.Warn("notify: queue full, oldest event dropped",
			"instance", old.Instance, "seq", old.Seq, "state", old.State, "queue_size", q.target.QueueSize)
	}
	l.pending = append(l.pending, ev)
	q.queued++
	if !busy {
		q.wg.Add(1)
		go q.drain(ev.Instance, l)
	}
}

// drain delivers the lane's events until it is empty, then removes the lane
// so that the next push starts a fresh goroutine.
func (q *queue) drain(instance string, l *lane) {
	defer q.wg.Done()
	for {
		q.mu.Lock()
		if len(l.pending) == 0 {
			delete(q.lanes, instance)
			q.mu.Unlock()
			return
		}
		ev := l.pending[0]
		l.pending[0] = Event{}
		l.pending = l.pending[1:]
		q.queued--
		q.mu.Unlock()
		q.deliver(ev)
	}
}

func (q *queue) deliver(ev Event) {
	if err := q.target.Sink.Deliver(q.ctx, ev); err != nil {
		q.failed.Add(1)
		q.log.Warn("notify: delivery failed",
			"instance", ev.Instance, "seq", ev.Seq, "state", ev.State, "err", err)
		return
	}
	q.sent.Add(1)
	q.log.Debug("notify: delivered", "instance", ev.Instance, "seq", ev.Seq, "state", ev.State)
}

// length reports the events waiting, not counting those being delivered.
func (q *queue) length() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.queued
}

// close stops accepting events and waits for the lanes to drain. When ctx
// ends first it cancels deliveries in flight, counts the events still
// waiting as dropped and waits for the workers to notice.
func (q *queue) close(ctx context.Context) error {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	done := make(chan struct{})
	go func() {
		q.wg.Wait()
		close(done)
	}()
	defer q.cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	select {
	case <-done: // finished just as time ran out: nothing was lost
		return nil
	default:
	}
	q.mu.Lock()
	for _, l := range q.lanes {
		q.dropped.Add(uint64(len(l.pending)))
		l.pending = nil
	}
	lost := q.queued
	q.queued = 0
	q.mu.Unlock()
	q.cancel()
	<-done
	return fmt.Errorf("sink %s: %d queued events dropped: %w", q.target.Name, lost, ctx.Err())
}
