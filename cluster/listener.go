package cluster

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
)

// connListener is a net.Listener fed by the mux with connections of one
// protocol, so that raft's transport and net/http can each Accept their own.
type connListener struct {
	addr  net.Addr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newConnListener(addr net.Addr) *connListener {
	return &connListener{addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
}

// Accept implements net.Listener.
func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close implements net.Listener. It stops this protocol only; the mux keeps
// serving the others.
func (l *connListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

// Addr implements net.Listener: the advertised address, which raft's
// transport reports as this node's address.
func (l *connListener) Addr() net.Addr { return l.addr }

// deliver hands c to the next Accept. It waits until someone accepts or the
// listener closes (then reports false), or stop is closed.
func (l *connListener) deliver(c net.Conn, stop <-chan struct{}) bool {
	select {
	case l.conns <- c:
		return true
	case <-l.done:
		return false
	case <-stop:
		return false
	}
}

// advertisedAddr is a net.Addr for a host:port that may be a name.
type advertisedAddr string

func (a advertisedAddr) Network() string { return "tcp" }
func (a advertisedAddr) String() string  { return string(a) }

// remoteAddr is a peer's address as net/http reports it (host:port).
type remoteAddr string

func (a remoteAddr) Network() string { return "tcp" }
func (a remoteAddr) String() string  { return string(a) }

// httpConn hides the *tls.Conn from net/http: the server would otherwise
// see our ALPN name, find no TLSNextProto handler for it and drop the
// connection. The handshake is already done; ConnContext keeps the peer's
// certificate available to handlers (peerID).
type httpConn struct{ *tls.Conn }

type peerKey struct{}

// connContext is the http.Server's ConnContext: it records the TLS state
// of the connection a request arrived on.
func connContext(ctx context.Context, c net.Conn) context.Context {
	if hc, ok := c.(httpConn); ok {
		return context.WithValue(ctx, peerKey{}, hc.ConnectionState())
	}
	return ctx
}
