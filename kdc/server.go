package kdc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
)

// Server serves a Handler on the UDP and TCP addresses of a Config.
type Server struct {
	cfg     Config
	handler Responder
	log     *slog.Logger
	udp     []*udpConn
	tcp     []net.Listener
	conns   chan struct{} // one token per open TCP connection
	wg      sync.WaitGroup
}

// Listen binds every configured address (UDP and TCP on the same port) so
// that a bad address or a port in use fails at startup, not later. A port
// of 0 picks one free port for both protocols.
//
// h is usually the KDC's *Handler; another Responder serves another
// protocol (kpasswd) with the same sockets' behaviour.
func Listen(cfg Config, h Responder, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, handler: h, log: log, conns: make(chan struct{}, cfg.TCPMaxConnections)}
	for _, a := range cfg.Listen {
		u, t, err := listenPair(a, cfg.TCPBacklog)
		if err != nil {
			s.close()
			return nil, err
		}
		s.udp = append(s.udp, u)
		s.tcp = append(s.tcp, t)
	}
	return s, nil
}

// listenPair binds UDP and TCP on one address. With port 0 it retries a few
// times because the port the kernel gave UDP may be taken for TCP.
func listenPair(addr string, backlog int) (*udpConn, net.Listener, error) {
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
		u, err := listenUDP(&net.UDPAddr{IP: ip, Port: port})
		if err != nil {
			return nil, nil, err
		}
		t, err := listenTCP(&net.TCPAddr{IP: ip, Port: u.localAddr().Port}, backlog)
		if err == nil {
			return u, t, nil
		}
		u.close()
		if port != 0 || attempt >= 20 || !errors.Is(err, syscall.EADDRINUSE) {
			return nil, nil, err
		}
	}
}

// Addrs returns the bound addresses (with the real port when 0 was asked).
func (s *Server) Addrs() []netip.AddrPort {
	var out []netip.AddrPort
	for _, u := range s.udp {
		out = append(out, u.localAddr().AddrPort())
	}
	return out
}

// Serve answers requests until ctx is cancelled, then closes the sockets and
// waits for in-flight requests.
func (s *Server) Serve(ctx context.Context) error {
	readers := runtime.GOMAXPROCS(0)
	for _, u := range s.udp {
		for range readers {
			s.wg.Go(func() { s.serveUDP(u) })
		}
	}
	for _, l := range s.tcp {
		s.wg.Go(func() { s.serveTCP(l) })
	}
	<-ctx.Done()
	s.close()
	s.wg.Wait()
	return nil
}

func (s *Server) close() {
	for _, u := range s.udp {
		u.close()
	}
	for _, l := range s.tcp {
		l.Close()
	}
}

func (s *Server) serveUDP(u *udpConn) {
	buf := make([]byte, 65536)
	for {
		n, from, to, err := u.read(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Warn("kdc udp read", "err", err)
			continue
		}
		dst, _ := netip.AddrFromSlice(to)
		reply := s.handle(Request{Data: buf[:n], From: from, To: dst.Unmap(), Transport: "udp", MaxReplySize: s.cfg.MaxUDPReply})
		if reply == nil {
			continue
		}
		if err := u.write(reply, from, to); err != nil {
			s.log.Warn("kdc udp reply", "to", from, "err", err)
		}
	}
}

func (s *Server) serveTCP(l net.Listener) {
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
		select {
		case s.conns <- struct{}{}:
		default:
			s.log.Warn("kdc tcp connection refused: too many connections", "from", c.RemoteAddr(), "limit", s.cfg.TCPMaxConnections)
			c.Close()
			continue
		}
		s.wg.Go(func() {
			defer func() { <-s.conns }()
			s.serveConn(c)
		})
	}
}

// serveConn answers any number of requests on one connection, each framed
// with a length prefix, until the client closes it, goes idle or misbehaves.
func (s *Server) serveConn(c net.Conn) {
	defer c.Close()
	var from netip.AddrPort
	var to netip.Addr
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		from = ta.AddrPort()
	}
	if la, ok := c.LocalAddr().(*net.TCPAddr); ok {
		to = la.AddrPort().Addr().Unmap()
	}
	for {
		c.SetDeadline(time.Now().Add(s.cfg.TCPIdleTimeout))
		req, err := ReadFrame(c, uint32(s.cfg.TCPMaxRequest))
		if errors.Is(err, ErrFrameTooLong) {
			s.log.Warn("kdc tcp request refused", "from", from, "err", err)
			if reply := s.handler.ErrorReply(errorcode.KRB_ERR_FIELD_TOOLONG, err.Error()); reply != nil {
				c.Write(AppendFrame(nil, reply))
			}
			return
		}
		if err != nil {
			return // EOF, idle timeout or a reset: nothing to answer
		}
		reply := s.handle(Request{Data: req, From: from, To: to, Transport: "tcp"})
		if reply == nil {
			return
		}
		if _, err := c.Write(AppendFrame(nil, reply)); err != nil {
			return
		}
	}
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
