package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

// Work before authentication is bounded per source and in total. Members
// are few and a handshake on a LAN takes milliseconds, so these limits
// only ever bite a flood, and a refused member simply dials again.
const (
	// handshakeTimeout bounds a TLS handshake, from accept to the client's
	// last flight, so that a peer that connects and stays silent holds a
	// handshake slot for at most this long.
	handshakeTimeout = 3 * time.Second
	// maxHandshakes bounds concurrent handshakes in total; a connection
	// beyond it is closed at once (counted as too_many_handshakes) rather
	// than queued behind the flood.
	maxHandshakes = 64
	// maxSourceHandshakes bounds concurrent handshakes from one IP
	// address, so that one host cannot take the global slots: a member
	// opens a few connections at a time (raft's pool, one per RPC).
	maxSourceHandshakes = 8
)

// Refusal reasons, as counted in RefusedStats and logged as "reason".
const (
	reasonUnknownProtocol = "unknown_protocol"
	reasonNoClientCert    = "no_client_cert"
	reasonUntrustedCert   = "untrusted_cert"
	reasonHandshake       = "handshake"
	reasonNotMember       = "not_member"
	reasonTooMany         = "too_many_handshakes"
)

// RefusedStats counts connections the mux refused, by reason, since
// Listen. cmd/kdcha exports them as metrics.
type RefusedStats struct {
	// UnknownProtocol: no ALPN or none of ProtoRaft, ProtoRPC, ProtoJoin.
	UnknownProtocol uint64
	// NoClientCert: Raft or RPC without a client certificate.
	NoClientCert uint64
	// UntrustedCert: a client certificate that does not chain to the
	// cluster CA (another cluster, self-signed, expired).
	UntrustedCert uint64
	// Handshake: any other TLS failure (not TLS, timeout, reset).
	Handshake uint64
	// NotMember: a valid certificate of a node that is not (or no longer)
	// a member, at the handshake or on a later request or Raft read.
	NotMember uint64
	// TooManyHandshakes: closed before the handshake because its source,
	// or the listener, already had as many handshakes in progress as
	// allowed.
	TooManyHandshakes uint64
}

// Members says whether the node with this ID (its certificate CN) is
// currently a member of the cluster. Only members may use Raft and the
// member RPC; a certificate alone is not enough, so that removing a node
// from the Raft configuration revokes it. It is called on every handshake,
// forwarded request and Raft read, so it must be cheap.
type Members func(nodeID string) bool

// Mux is a node's cluster listener: one TLS port whose connections are
// routed by ALPN to Raft (StreamLayer), member RPC and joins (Serve).
type Mux struct {
	ln        net.Listener
	creds     *Credentials
	cfg       Config
	log       *slog.Logger
	raft      *streamLayer
	rpc, join *connListener

	members Members

	stop      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup

	mu      sync.Mutex
	servers []*http.Server // started by Serve, closed by Close
	// handshakes counts connections in handshake, in total and by source
	// IP; guarded by mu.
	handshakes       int
	sourceHandshakes map[string]int

	refused struct {
		unknownProtocol, noClientCert, untrustedCert, handshake, notMember, tooMany atomic.Uint64
	}
}

// Listen opens the cluster listener on cfg.Listen with creds and starts
// accepting. An empty cfg.Advertise means the bound address (useful with
// port 0 in tests); cmd/kdcha passes cfg.WithDefaults(). Raft connections
// are served as soon as the StreamLayer is handed to a transport; RPC and
// join connections wait until Serve. members decides who may use Raft and
// the member RPC among the holders of a certificate of the cluster CA; nil
// admits them all (tests of this package only).
func Listen(cfg Config, creds *Credentials, members Members, log *slog.Logger) (*Mux, error) {
	if log == nil {
		log = slog.Default()
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("cluster listener: %w", err)
	}
	if cfg.Advertise == "" {
		cfg.Advertise = ln.Addr().String()
	}
	cfg = cfg.WithDefaults()
	if err := checkAdvertise(cfg.Advertise); err != nil {
		ln.Close()
		return nil, fmt.Errorf("%w: cluster advertise address: %w", ErrInvalid, err)
	}
	addr := advertisedAddr(cfg.Advertise)
	m := &Mux{
		ln:    ln,
		creds: creds,
		cfg:   cfg,
		log:   log.With("component", "cluster"),
		raft:  &streamLayer{connListener: newConnListener(addr), creds: creds, fallback: cfg.DialTimeout},
		rpc:   newConnListener(addr),
		join:  newConnListener(addr),
		stop:  make(chan struct{}),

		members:          members,
		sourceHandshakes: map[string]int{},
	}
	m.wg.Add(1)
	go m.acceptLoop()
	m.log.Info("cluster listener open", "listen", ln.Addr().String(), "advertise", cfg.Advertise, "node", creds.NodeID())
	return m, nil
}

// StreamLayer is the raft.StreamLayer to build the node's Raft transport
// on with db.NewNetworkTransport(m.StreamLayer(), log).
// Its address is the advertised one. Closing it (raft does on shutdown)
// stops Raft traffic only.
func (m *Mux) StreamLayer() raft.StreamLayer { return m.raft }

// Addr is the address the listener is bound to.
func (m *Mux) Addr() net.Addr { return m.ln.Addr() }

// Advertise is the address peers dial to reach this node, and its Raft
// server address.
func (m *Mux) Advertise() string { return m.cfg.Advertise }

// Refused returns the refused-connection counters.
func (m *Mux) Refused() RefusedStats {
	return RefusedStats{
		UnknownProtocol: m.refused.unknownProtocol.Load(),
		NoClientCert:    m.refused.noClientCert.Load(),
		UntrustedCert:   m.refused.untrustedCert.Load(),
		Handshake:       m.refused.handshake.Load(),

		NotMember:         m.refused.notMember.Load(),
		TooManyHandshakes: m.refused.tooMany.Load(),
	}
}

// Close stops the listener, the RPC and join servers, and every protocol
// listener, and waits for in-flight handshakes. Established Raft
// connections belong to raft's transport and are closed by it.
func (m *Mux) Close() error {
	var err error
	m.closeOnce.Do(func() {
		close(m.stop)
		err = m.ln.Close()
		m.raft.Close()
		m.rpc.Close()
		m.join.Close()
		m.mu.Lock()
		servers := m.servers
		m.servers = nil
		m.mu.Unlock()
		for _, s := range servers {
			if cerr := s.Close(); cerr != nil {
				err = errors.Join(err, cerr)
			}
		}
		m.wg.Wait()
	})
	if err != nil {
		return fmt.Errorf("close cluster listener: %w", err)
	}
	return nil
}

func (m *Mux) acceptLoop() {
	defer m.wg.Done()
	for {
		conn, err := m.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Temporary failures (EMFILE): back off rather than spin.
			m.log.Warn("cluster accept failed", "err", err)
			select {
			case <-time.After(100 * time.Millisecond):
			case <-m.stop:
				return
			}
			continue
		}
		src := sourceIP(conn.RemoteAddr())
		if !m.startHandshake(src) {
			// Refused without reading a byte: the accept loop never
			// waits for a slot, so a flood cannot delay other peers.
			m.refuse(conn.RemoteAddr(), "", reasonTooMany, nil)
			conn.Close()
			continue
		}
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			m.route(conn, src)
		}()
	}
}

// startHandshake takes a handshake slot for a connection from src, or
// reports false when src or the listener has none left.
func (m *Mux) startHandshake(src string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.handshakes >= maxHandshakes || m.sourceHandshakes[src] >= maxSourceHandshakes {
		return false
	}
	m.handshakes++
	m.sourceHandshakes[src]++
	return true
}

// endHandshake gives back the slot startHandshake took.
func (m *Mux) endHandshake(src string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.handshakes--
	if m.sourceHandshakes[src]--; m.sourceHandshakes[src] == 0 {
		delete(m.sourceHandshakes, src)
	}
}

func sourceIP(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	return a.String()
}

// route completes the handshake of one connection and hands it to its
// protocol's listener, or refuses it.
func (m *Mux) route(raw net.Conn, src string) {
	var (
		hello bool
		proto string
	)
	conn := tls.Server(raw, &tls.Config{
		GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
			hello = true
			if i := slices.IndexFunc(h.SupportedProtos, func(p string) bool { return slices.Contains(allProtos, p) }); i >= 0 {
				proto = h.SupportedProtos[i]
			}
			// With proto "" this config offers every protocol, so TLS
			// itself rejects a client that asked only for unknown ones.
			cfg := m.creds.serverConfig(proto)
			if proto == ProtoRaft || proto == ProtoRPC {
				cfg.VerifyConnection = m.verifyMember
			}
			return cfg, nil
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
	err := conn.HandshakeContext(ctx)
	cancel()
	m.endHandshake(src)
	if reason := m.refusal(hello, proto, err, conn.ConnectionState()); reason != "" {
		m.refuse(raw.RemoteAddr(), proto, reason, err)
		conn.Close()
		return
	}
	var (
		l   *connListener
		out net.Conn = conn
	)
	switch proto {
	case ProtoRaft:
		mc := &memberConn{Conn: conn, cert: conn.ConnectionState().PeerCertificates[0], m: m}
		mc.id = mc.cert.Subject.CommonName
		mc.trustGen.Store(m.creds.trustGen.Load())
		l, out = m.raft.connListener, mc
	case ProtoRPC:
		l, out = m.rpc, httpConn{conn}
	default:
		l, out = m.join, httpConn{conn}
	}
	if !l.deliver(out, m.stop) {
		conn.Close()
	}
}

// verifyMember is the Raft and RPC handshakes' VerifyConnection: a
// certificate that chains to the cluster CA is refused unless its node is
// a member. (Without a certificate it passes here and refusal reports
// no_client_cert.)
func (m *Mux) verifyMember(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 || m.isMember(cs.PeerCertificates[0].Subject.CommonName) {
		return nil
	}
	return fmt.Errorf("%w: node %q", ErrNotMember, cs.PeerCertificates[0].Subject.CommonName)
}

func (m *Mux) isMember(id string) bool { return m.members == nil || m.members(id) }

// memberConn is an inbound Raft connection. raft keeps connections open
// and reuses them, so membership is checked again on every read, and the
// peer's certificate again whenever the trusted CAs changed: once the
// peer is removed, or its CA dropped by a credentials rotation, its next
// read fails and the connection is closed.
type memberConn struct {
	net.Conn
	id   string
	cert *x509.Certificate
	m    *Mux
	// trustGen is the Credentials' trustGen cert was last verified at.
	trustGen atomic.Uint64
	refused  atomic.Bool
}

func (c *memberConn) Read(b []byte) (int, error) {
	reason, err := "", error(nil)
	if !c.m.isMember(c.id) {
		reason, err = reasonNotMember, fmt.Errorf("%w: node %q", ErrNotMember, c.id)
	} else if gen := c.m.creds.trustGen.Load(); gen != c.trustGen.Load() {
		if verr := c.m.creds.verifyTrusted(c.cert); verr != nil {
			reason, err = reasonUntrustedCert, fmt.Errorf("node %q: certificate no longer trusted: %w", c.id, verr)
		} else {
			c.trustGen.Store(gen)
		}
	}
	if err != nil {
		if !c.refused.Swap(true) {
			c.m.refuse(c.RemoteAddr(), ProtoRaft, reason, err)
			c.Conn.Close()
		}
		return 0, err
	}
	return c.Conn.Read(b)
}

// refusal classifies a finished handshake; "" means accept.
func (m *Mux) refusal(hello bool, proto string, err error, cs tls.ConnectionState) string {
	var cve *tls.CertificateVerificationError
	switch {
	case !hello:
		return reasonHandshake
	case proto == "":
		return reasonUnknownProtocol
	case errors.Is(err, ErrNotMember):
		return reasonNotMember
	case errors.As(err, &cve):
		return reasonUntrustedCert
	case err != nil:
		return reasonHandshake
	case proto != ProtoJoin && len(cs.PeerCertificates) == 0:
		return reasonNoClientCert
	}
	return ""
}

func (m *Mux) refuse(remote net.Addr, proto, reason string, err error) {
	switch reason {
	case reasonUnknownProtocol:
		m.refused.unknownProtocol.Add(1)
	case reasonNoClientCert:
		m.refused.noClientCert.Add(1)
	case reasonUntrustedCert:
		m.refused.untrustedCert.Add(1)
	case reasonNotMember:
		m.refused.notMember.Add(1)
	case reasonTooMany:
		m.refused.tooMany.Add(1)
	default:
		m.refused.handshake.Add(1)
	}
	level := slog.LevelWarn
	if reason == reasonHandshake || reason == reasonTooMany {
		// TCP health checks, port scans and floods end up here; they
		// are counted, but at Warn they would drown real refusals.
		level = slog.LevelDebug
	}
	m.log.Log(context.Background(), level, "cluster connection refused", "remote", remote.String(), "alpn", proto, "reason", reason, "err", err)
}
