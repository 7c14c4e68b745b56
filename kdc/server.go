package kdc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
)

// Server serves a Handler on the UDP and TCP addresses of a Config.
type Server struct {
	cfg     Config
	handler Responder
	log     *slog.Logger
	udp     [][]*udpConn // per address, its SO_REUSEPORT group
	tcp     []net.Listener
	conns   *connTable
	wg      sync.WaitGroup

	// Progress tracking (progress.go): one entry per socket, UDP then TCP
	// for each address; now and epoch are the clock of its timestamps.
	progress []*listenerProgress
	readers  int // UDP sockets per address, each with one reader
	now      func() time.Time
	// wall is the clock a datagram's age is measured with: the kernel
	// stamps arrivals with the real-time clock, which tests of progress
	// replace s.now with a fake of.
	wall    func() time.Time
	epoch   time.Time
	serving atomic.Bool
	// stopped is closed when Serve begins to shut down: requests held by
	// an injected fault are dropped.
	stopped chan struct{}
	faults  *Faults
}

// Listen binds every configured address (UDP and TCP on the same port) so
// that a bad address or a port in use fails at startup, not later. A port
// of 0 picks one free port for both protocols.
//
// h is usually the KDC's *Handler; another Responder serves another
// protocol (kpasswd) with the same sockets' behaviour.
func Listen(cfg Config, h Responder, log *slog.Logger, opts ...ServerOption) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := newServer(cfg, h, log)
	for _, o := range opts {
		o(s)
	}
	for _, a := range cfg.Listen {
		u, t, err := listenPair(a, cfg.TCPBacklog, s.readers)
		if err != nil {
			s.close()
			return nil, err
		}
		s.udp = append(s.udp, u)
		s.tcp = append(s.tcp, t)
		s.progress = append(s.progress, newUDPProgress(u[0].localAddr(), len(u)), newTCPProgress(t.Addr()))
	}
	if kh, ok := h.(*Handler); ok {
		kh.metrics.attach(s)
	}
	return s, nil
}

// newServer returns a Server with no sockets yet.
func newServer(cfg Config, h Responder, log *slog.Logger) *Server {
	s := &Server{cfg: cfg, handler: h, log: log, conns: newConnTable(cfg.TCPMaxConnections, cfg.TCPMaxConnectionsPerSource),
		readers: runtime.GOMAXPROCS(0), now: time.Now, wall: time.Now, stopped: make(chan struct{})}
	s.epoch = s.now()
	return s
}

// listenPair binds UDP (a group of sockets, one per reader) and TCP on one
// address. With port 0 it retries a few times because the port the kernel
// gave UDP may be taken for TCP.
func listenPair(addr string, backlog, readers int) ([]*udpConn, net.Listener, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("kdc listen address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return nil, nil, fmt.Errorf("kdc listen address %q: bad port", addr)
	}
	var ip net.IP
	if host != "" {
		if ip = net.ParseIP(host); ip == nil {
			return nil, nil, fmt.Errorf("kdc listen address %q: host must be an IP address", addr)
		}
	}
	for attempt := 0; ; attempt++ {
		u, err := listenUDPGroup(&net.UDPAddr{IP: ip, Port: port}, readers)
		if err != nil {
			return nil, nil, err
		}
		t, err := listenTCP(&net.TCPAddr{IP: ip, Port: u[0].localAddr().Port}, backlog)
		if err == nil {
			return u, t, nil
		}
		for _, c := range u {
			c.close()
		}
		if port != 0 || attempt >= 20 || !errors.Is(err, syscall.EADDRINUSE) {
			return nil, nil, err
		}
	}
}

// Addrs returns the bound addresses (with the real port when 0 was asked).
func (s *Server) Addrs() []netip.AddrPort {
	var out []netip.AddrPort
	for _, g := range s.udp {
		out = append(out, g[0].localAddr().AddrPort())
	}
	return out
}

// Serve answers requests until ctx is cancelled, then closes the sockets and
// waits for in-flight requests.
func (s *Server) Serve(ctx context.Context) error {
	for i, g := range s.udp {
		p := s.progress[2*i]
		for j, w := range p.udp {
			u := g[j]
			p.readers.Add(1)
			s.wg.Go(func() {
				defer p.readers.Add(-1)
				s.serveUDP(u, w)
			})
		}
	}
	for i, l := range s.tcp {
		s.wg.Go(func() { s.serveTCP(l, s.progress[2*i+1]) })
	}
	s.serving.Store(true)
	<-ctx.Done()
	s.serving.Store(false)
	close(s.stopped)
	s.close()
	s.wg.Wait()
	return nil
}

func (s *Server) close() {
	for _, g := range s.udp {
		for _, u := range g {
			u.close()
		}
	}
	for _, l := range s.tcp {
		l.Close()
	}
}

// serveUDP reads and answers u's datagrams on one goroutine, with buffers
// it owns for its lifetime: a request costs no buffer allocation.
func (s *Server) serveUDP(u *udpConn, w *worker) {
	buf := make([]byte, 65536)
	oob := make([]byte, udpOOBSize)
	for {
		n, from, to, at, err := u.read(buf, oob)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Warn("kdc udp read", "err", err)
			continue
		}
		if s.tooOld(at) {
			// Its client has retransmitted by now (MIT after 1 s): an
			// answer would cost the CPU the fresh requests need and
			// arrive to nobody. Dropping it is what lets a saturated
			// KDC keep answering in time.
			w.c.shed.Add(1)
			continue
		}
		reply := s.serveRequest(w, Request{Data: buf[:n], From: from, To: to, Transport: "udp", MaxReplySize: s.cfg.MaxUDPReply})
		if reply == nil {
			continue
		}
		if err := u.write(reply, from, to, oob); err != nil {
			s.log.Warn("kdc udp reply", "to", from, "err", err)
		}
	}
}

// tooOld reports whether a datagram that arrived at at has waited longer
// than kdc.request_max_age (0: no limit). A datagram without a timestamp
// is never too old.
func (s *Server) tooOld(at time.Time) bool {
	return s.cfg.RequestMaxAge > 0 && !at.IsZero() && s.wall().Sub(at) > s.cfg.RequestMaxAge
}

func (s *Server) serveTCP(l net.Listener, p *listenerProgress) {
	for {
		c, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Warn("kdc tcp accept", "err", err)
			time.Sleep(10 * time.Millisecond) // e.g. EMFILE: do not spin
			continue
		}
		from := remoteAddr(c)
		tc, evicted, refused := s.conns.admit(c, from.Addr())
		if evicted != nil {
			evicted.Close()
			s.closedTCP(tcpClosedEvicted)
			s.log.Debug("kdc tcp connection evicted to admit a new one", "evicted", evicted.RemoteAddr(), "from", from)
		}
		if tc == nil {
			c.Close()
			s.closedTCP(refused)
			if s.warnAllowed() {
				s.log.Warn("kdc tcp connection refused", "from", from, "reason", refused,
					"max_connections", s.cfg.TCPMaxConnections, "max_per_source", s.cfg.TCPMaxConnectionsPerSource)
			}
			continue
		}
		w := p.addConn()
		s.wg.Go(func() {
			defer p.removeConn(w)
			defer s.conns.release(tc)
			s.serveConn(tc, from, w)
		})
	}
}

// remoteAddr is c's peer, IPv4-mapped addresses unmapped so that one
// client counts as one source.
func remoteAddr(c net.Conn) netip.AddrPort {
	ta, ok := c.RemoteAddr().(*net.TCPAddr)
	if !ok {
		return netip.AddrPort{}
	}
	ap := ta.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// serveConn answers any number of requests on one connection, each framed
// with a length prefix, until the client closes it, goes idle, misbehaves
// or is evicted. A new connection must send its first request within
// TCPRequestTimeout; later ones may start up to TCPIdleTimeout after the
// previous reply and must then be complete within TCPRequestTimeout, so a
// client trickling bytes holds a connection for seconds, not forever.
func (s *Server) serveConn(tc *tcpConn, from netip.AddrPort, w *worker) {
	defer tc.Close()
	bp := tcpBuffers.Get().(*[]byte)
	defer tcpBuffers.Put(bp)
	buf := *bp // the request, then the framed reply, then the next request's first byte
	deadline := time.Now().Add(s.cfg.TCPRequestTimeout)
	var started []byte // the first byte of a request, read while idle (in buf)
	var to netip.Addr
	if la, ok := tc.LocalAddr().(*net.TCPAddr); ok {
		to = la.AddrPort().Addr().Unmap()
	}
	for {
		tc.SetReadDeadline(deadline)
		req, err := readFrame(tc, started, buf, uint32(s.cfg.TCPMaxRequest))
		if errors.Is(err, ErrFrameTooLong) {
			if s.warnAllowed() {
				s.log.Warn("kdc tcp request refused", "from", from, "err", err)
			}
			if reply := s.handler.ErrorReply(errorcode.KRB_ERR_FIELD_TOOLONG, err.Error()); reply != nil {
				tc.SetWriteDeadline(time.Now().Add(s.cfg.TCPRequestTimeout))
				tc.Write(AppendFrame(nil, reply))
			}
			return
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			s.closedTCP(tcpClosedRequestTimeout)
			return
		}
		if err != nil {
			return // EOF or a reset: nothing to answer
		}
		if !s.conns.busy(tc) {
			return // evicted while its request arrived
		}
		reply := s.serveRequest(w, Request{Data: req, From: from, To: to, Transport: "tcp"})
		if reply == nil {
			return
		}
		tc.SetWriteDeadline(time.Now().Add(s.cfg.TCPRequestTimeout))
		// The request is done with: its buffer carries the reply (a
		// larger reply than the buffer allocates its own).
		if _, err := tc.Write(AppendFrame(buf[:0], reply)); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				s.closedTCP(tcpClosedRequestTimeout)
			}
			return
		}
		s.conns.done(tc)
		tc.SetReadDeadline(time.Now().Add(s.cfg.TCPIdleTimeout))
		if _, err := io.ReadFull(tc, buf[:1]); err != nil {
			return // EOF, idle timeout, eviction or a reset
		}
		started = buf[:1]
		deadline = time.Now().Add(s.cfg.TCPRequestTimeout)
	}
}

// tcpBufferSize is a TCP connection's pooled buffer: larger than nearly
// every request and reply (a few hundred bytes to 2 KB; a ticket with a
// large PAC is the exception, which allocates its own).
const tcpBufferSize = 4096

// tcpBuffers recycles TCP connections' buffers: MIT clients open a
// connection per request, which must not cost a buffer allocation each.
var tcpBuffers = sync.Pool{New: func() any {
	b := make([]byte, tcpBufferSize)
	return &b
}}

// closedTCP counts a connection the listener closed, in the KDC's metrics
// (another Responder, kpasswd, has none of its own).
func (s *Server) closedTCP(reason string) {
	if h, ok := s.handler.(*Handler); ok {
		h.metrics.closedTCP(reason)
	}
}

// warnAllowed reports whether a warning about a bad request may be logged
// now: the KDC's limit, shared with its per-request warnings. Other
// Responders' listener warnings are not logged.
func (s *Server) warnAllowed() bool {
	h, ok := s.handler.(*Handler)
	return ok && h.warnAllowed(h.now())
}

// handle runs the Handler, turning a panic (a bug, never expected) into a
// dropped request so that one bad packet cannot take the KDC down.
func (s *Server) handle(req Request) (reply []byte) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("kdc request handler panicked; request dropped", "from", req.From, "panic", r)
			reply = nil
		}
	}()
	return s.handler.Handle(req)
}
