package kdc

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/kdcha/kdcha/health"
)

// fakeClock is a settable clock safe for the server's goroutines.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// serveOnClock runs a Server for h on a loopback port whose progress
// timestamps come from clk, and waits until it serves.
func serveOnClock(t *testing.T, h Responder, clk *fakeClock, opts ...ServerOption) (*Server, string) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Listen = []string{"127.0.0.1:0"}
	s, err := Listen(cfg, h, slog.New(slog.NewTextHandler(io.Discard, nil)), opts...)
	if err != nil {
		t.Fatal(err)
	}
	s.now = clk.now
	s.epoch = clk.now()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Serve(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, "the server to serve", func() bool { return s.Progress().Serving })
	return s, s.Addrs()[0].String()
}

// waitFor polls cond (state another goroutine reaches without telling
// us) until it holds, failing after 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// sendUDP sends one datagram from a new socket and returns the socket for
// reading the reply.
func sendUDP(t *testing.T, addr string, b []byte) net.Conn {
	t.Helper()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
	return c
}

// readReply reads one datagram within d.
func readReply(c net.Conn, d time.Duration) ([]byte, error) {
	c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 65536)
	n, err := c.Read(buf)
	return buf[:n], err
}

// runProbe runs p once and returns its error, checking it returns fast.
func runProbe(t *testing.T, p *ProgressProbe) error {
	t.Helper()
	r := p.Run(context.Background())
	if r.Duration > 50*time.Millisecond {
		t.Errorf("progress probe took %s", r.Duration)
	}
	return r.Err
}

// wantStalled checks that err is the probe's stalled failure.
func wantStalled(t *testing.T, err error) {
	t.Helper()
	var ce *health.CheckError
	if !errors.As(err, &ce) || ce.Kind != health.KindTimeout || ce.Step != "progress" {
		t.Fatalf("probe: got %v, want a progress timeout", err)
	}
}

func udpListener(p Progress) ListenerProgress { return p.Listeners[0] }

// blockingWriter is a log destination whose writes block while gate is
// held, like a full pipe to a stuck journald.
type blockingWriter struct {
	gate    sync.Mutex
	entered chan struct{}
}

func (w *blockingWriter) Write(b []byte) (int, error) {
	select {
	case w.entered <- struct{}{}:
	default:
	}
	w.gate.Lock()
	defer w.gate.Unlock()
	return len(b), nil
}

// A handler stuck on a lock, and one stuck writing its log line, hold a
// request that the probe sees as stalled once the threshold has passed,
// not before; releasing it lets the request complete and the probe pass.
func TestProgressProbeStuckHandler(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// stuck returns a handler whose next request blocks, a channel
		// that receives once it is blocked, and the release.
		stuck func(k *testKDC) (h *Handler, entered <-chan struct{}, release func())
	}{
		{"lock held", func(k *testKDC) (*Handler, <-chan struct{}, func()) {
			bdb := &blockingDB{memDB: k.db, entered: make(chan struct{}), release: make(chan struct{})}
			h := NewHandler(bdb, DefaultConfig().Policy(), WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
			return h, bdb.entered, func() { close(bdb.release) }
		}},
		{"blocked log write", func(k *testKDC) (*Handler, <-chan struct{}, func()) {
			w := &blockingWriter{entered: make(chan struct{}, 1)}
			w.gate.Lock()
			h := NewHandler(k.db, DefaultConfig().Policy(), WithLogger(slog.New(slog.NewTextHandler(w, nil))))
			return h, w.entered, w.gate.Unlock
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			k := newTestKDC(t)
			k.now = time.Now()
			h, entered, release := tc.stuck(k)
			clk := &fakeClock{t: t0}
			s, addr := serveOnClock(t, h, clk)
			probe := NewProgressProbe(s, 0)
			if err := runProbe(t, probe); err != nil {
				t.Fatalf("idle server: %v", err)
			}
			c := sendUDP(t, addr, k.asReq(t, asReq{client: "alice"}))
			<-entered
			if l := udpListener(s.Progress()); l.InFlight != 1 || l.OldestStart != t0 || l.Readers < 1 {
				t.Fatalf("progress while stuck: %+v", l)
			}
			clk.advance(DefaultStallThreshold - time.Millisecond)
			if err := runProbe(t, probe); err != nil {
				t.Fatalf("stuck for less than the threshold: %v", err)
			}
			clk.advance(time.Millisecond)
			wantStalled(t, runProbe(t, probe))

			release()
			if _, err := readReply(c, 5*time.Second); err != nil {
				t.Fatalf("no reply after release: %v", err)
			}
			l := udpListener(s.Progress())
			if l.InFlight != 0 || l.Completed != 1 || l.Received != 1 {
				t.Fatalf("progress after release: %+v", l)
			}
			if err := runProbe(t, probe); err != nil {
				t.Fatalf("after release: %v", err)
			}
		})
	}
}

// gateResponder holds each request until the test lets that one go: each
// request hands the test its own release channel, so releasing the older
// of two held requests cannot release the newer one instead.
type gateResponder struct {
	entered chan chan struct{}
	stop    chan struct{} // closed: every held request goes
}

func newGateResponder() gateResponder {
	return gateResponder{entered: make(chan chan struct{}), stop: make(chan struct{})}
}

// releaseAll lets every held request go; tests register it after the
// server, so that it runs before the server's shutdown waits for them.
func (g gateResponder) releaseAll() { close(g.stop) }

func (g gateResponder) Handle(Request) []byte {
	release := make(chan struct{})
	select {
	case g.entered <- release:
	case <-g.stop:
		return []byte{0x7e}
	}
	select {
	case <-release:
	case <-g.stop:
	}
	return []byte{0x7e}
}

func (gateResponder) ErrorReply(int32, string) []byte { return nil }

// A busy server always has requests in flight, for longer in total than
// the threshold, but completes one every 200 ms: it is not stalled. (TCP,
// one connection per request: each has its own goroutine, whatever
// GOMAXPROCS is.)
func TestProgressProbeBusyIsNotStalled(t *testing.T) {
	t.Parallel()
	g := newGateResponder()
	clk := &fakeClock{t: t0}
	s, addr := serveOnClock(t, g, clk)
	t.Cleanup(g.releaseAll)
	probe := NewProgressProbe(s, 0)
	type held struct {
		conn    net.Conn
		release chan struct{}
	}
	send := func() held {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.Write(AppendFrame(nil, []byte("request")))
		return held{c, <-g.entered}
	}
	prev := send()
	for i := range 5 {
		// A second request arrives while the first is in flight...
		next := send()
		clk.advance(200 * time.Millisecond)
		if err := runProbe(t, probe); err != nil {
			t.Fatalf("round %d, before completion: %v", i, err)
		}
		// ...then the older one completes.
		close(prev.release)
		prev.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := ReadFrame(prev.conn, 1<<20); err != nil {
			t.Fatal(err)
		}
		if err := runProbe(t, probe); err != nil {
			t.Fatalf("round %d, after completion: %v", i, err)
		}
		prev = next
	}
	if l := s.Progress().Listeners[1]; l.Completed != 5 || l.InFlight != 1 {
		t.Fatalf("progress: %+v", l)
	}
}

// The probe fails while the server is not serving: before Serve, and
// after its shutdown.
func TestProgressProbeNotServing(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Listen = []string{"127.0.0.1:0"}
	s, err := Listen(cfg, nopResponder{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	probe := NewProgressProbe(s, 0)
	if err := runProbe(t, probe); !errors.Is(err, errNotServing) {
		t.Fatalf("before Serve: got %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Serve(ctx); close(done) }()
	waitFor(t, "the server to serve", func() bool { return s.Progress().Serving })
	if err := runProbe(t, probe); err != nil {
		t.Fatalf("serving: %v", err)
	}
	cancel()
	<-done
	if err := runProbe(t, probe); !errors.Is(err, errNotServing) {
		t.Fatalf("after shutdown: got %v", err)
	}
	if p := s.Progress(); p.Listeners[0].Readers != 0 {
		t.Fatalf("UDP readers after shutdown: %+v", p.Listeners[0])
	}
}

// TCP requests are tracked per connection, and a closed connection's
// completions stay counted.
func TestProgressTCP(t *testing.T) {
	t.Parallel()
	g := newGateResponder()
	clk := &fakeClock{t: t0}
	s, addr := serveOnClock(t, g, clk)
	t.Cleanup(g.releaseAll)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.Write(AppendFrame(nil, []byte("request")))
	release := <-g.entered
	tcp := s.Progress().Listeners[1]
	if tcp.Transport != "tcp" || tcp.InFlight != 1 || tcp.Readers != 1 || tcp.OldestStart != t0 {
		t.Fatalf("TCP progress while in flight: %+v", tcp)
	}
	close(release)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := ReadFrame(c, 1<<20); err != nil {
		t.Fatal(err)
	}
	c.Close()
	waitFor(t, "the connection to be released", func() bool { return s.Progress().Listeners[1].Readers == 0 })
	if tcp := s.Progress().Listeners[1]; tcp.Completed != 1 || tcp.InFlight != 0 {
		t.Fatalf("TCP progress after close: %+v", tcp)
	}
}
