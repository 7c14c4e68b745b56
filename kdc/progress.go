package kdc

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Progress tracking lets the agent see from inside whether request handling
// moves: a KDC whose handlers are stuck (on a lock, on a blocked log write,
// on a fault injected by an operator) keeps its sockets open and its reader
// goroutines alive, so only the requests that go in and never come out tell
// it apart from a busy one.
//
// Each goroutine that reads and handles requests (a UDP reader, a TCP
// connection) owns a worker that only it writes: the request path costs one
// clock read, two atomic stores and one uncontended atomic add, no lock.
// Progress() sums the workers when asked.

// worker is the progress of one goroutine that reads and answers requests.
type worker struct {
	// completed counts the requests whose handling has returned (answered
	// or dropped).
	completed atomic.Uint64
	// busySince is when the request being handled started, as a tick of
	// Server.ticks; 0 while the goroutine is reading (or idle), which is
	// fine however long it lasts.
	busySince atomic.Int64
	// c are its request counters (counters.go).
	c counters
}

// workerPool recycles TCP connections' workers: a client opening a
// connection per request (as MIT's do) must not cost a counters block
// allocation per request.
var workerPool = sync.Pool{New: func() any { return &worker{} }}

// listenerProgress is the progress state of one socket.
type listenerProgress struct {
	transport string
	addr      string
	// udp holds the fixed set of UDP readers (nil for TCP).
	udp []*worker
	// readers counts the UDP reader goroutines running.
	readers atomic.Int32

	mu sync.Mutex
	// conns holds the workers of the open TCP connections.
	conns map[*worker]struct{}
	// closedDone is the completed count of the TCP connections closed so
	// far, so that the total never goes down; closed holds their counters
	// for the same reason.
	closedDone uint64
	closed     counters
}

// addConn registers the worker of a new TCP connection.
func (l *listenerProgress) addConn() *worker {
	w := workerPool.Get().(*worker)
	l.mu.Lock()
	l.conns[w] = struct{}{}
	l.mu.Unlock()
	return w
}

// removeConn folds a closed connection's count into the listener's.
func (l *listenerProgress) removeConn(w *worker) {
	l.mu.Lock()
	l.closedDone += w.completed.Load()
	w.c.addTo(&l.closed)
	delete(l.conns, w)
	l.mu.Unlock()
	w.completed.Store(0)
	w.busySince.Store(0)
	w.c.reset()
	workerPool.Put(w)
}

func newUDPProgress(addr net.Addr, readers int) *listenerProgress {
	l := &listenerProgress{transport: "udp", addr: addr.String()}
	for range readers {
		l.udp = append(l.udp, &worker{})
	}
	return l
}

func newTCPProgress(addr net.Addr) *listenerProgress {
	return &listenerProgress{transport: "tcp", addr: addr.String(), conns: map[*worker]struct{}{}}
}

// Progress is a snapshot of request handling, taken by (*Server).Progress.
type Progress struct {
	// At is when the snapshot was taken (the server's clock).
	At time.Time
	// Serving is true between the start of Serve and its shutdown.
	Serving bool
	// Listeners holds one entry per socket, in a fixed order: each listen
	// address's UDP socket, then its TCP socket.
	Listeners []ListenerProgress
}

// ListenerProgress is the progress of one socket.
type ListenerProgress struct {
	// Transport is "udp" or "tcp"; Addr is the bound address.
	Transport, Addr string
	// Received counts requests handed to the handler; Completed those
	// whose handling returned. Both only grow.
	Received, Completed uint64
	// InFlight is Received - Completed: requests being handled now.
	InFlight int
	// OldestStart is when the oldest request in flight started (zero when
	// none is).
	OldestStart time.Time
	// Readers is the number of goroutines reading this socket: UDP
	// readers, or open TCP connections. A reader waiting in a read is
	// healthy however long it waits; only time in the handler counts.
	Readers int
}

// ticks is the server's clock as nanoseconds since Listen plus one (0 is
// reserved for "not busy"). Monotonic with the real clock.
func (s *Server) ticks() int64 {
	return int64(s.now().Sub(s.epoch)) + 1
}

// Progress returns a snapshot of every listener's request handling. It
// takes no lock on the request path and returns in microseconds.
func (s *Server) Progress() Progress {
	p := Progress{At: s.now(), Serving: s.serving.Load(), Listeners: make([]ListenerProgress, 0, len(s.progress))}
	for _, l := range s.progress {
		lp := ListenerProgress{Transport: l.transport, Addr: l.addr}
		var oldest int64
		add := func(w *worker) {
			// busySince first: a request completing in between is then
			// counted once, as completed, and not as in flight.
			if since := w.busySince.Load(); since != 0 {
				lp.InFlight++
				if oldest == 0 || since < oldest {
					oldest = since
				}
			}
			lp.Completed += w.completed.Load()
		}
		if l.transport == "udp" {
			for _, w := range l.udp {
				add(w)
			}
			lp.Readers = int(l.readers.Load())
		} else {
			l.mu.Lock()
			for w := range l.conns {
				add(w)
			}
			lp.Completed += l.closedDone
			lp.Readers = len(l.conns)
			l.mu.Unlock()
		}
		lp.Received = lp.Completed + uint64(lp.InFlight)
		if oldest != 0 {
			lp.OldestStart = s.epoch.Add(time.Duration(oldest - 1))
		}
		p.Listeners = append(p.Listeners, lp)
	}
	return p
}

// serveRequest handles one request on w's goroutine, marking it busy for
// the duration so that Progress sees a handler that does not return.
func (s *Server) serveRequest(w *worker, req Request) []byte {
	req.counters = &w.c
	w.busySince.Store(s.ticks())
	reply := s.faulty(req)
	w.c.bytesIn.Add(uint64(len(req.Data)))
	w.c.bytesOut.Add(uint64(len(reply)))
	w.completed.Add(1)
	w.busySince.Store(0)
	return reply
}
