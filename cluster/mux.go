package cluster

import (
	"context"
	"crypto/tls"
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

const (
	// handshakeTimeout bounds a TLS handshake so that a peer that connects
	// and stays silent cannot hold a goroutine.
	handshakeTimeout = 10 * time.Second
	// maxHandshakes bounds concurrent handshakes; beyond it the accept loop
	// waits, pushing back on a connection flood instead of growing.
	maxHandshakes = 64
)

// Refusal reasons, as counted in RefusedStats and logged as "reason".
const (
	reasonUnknownProtocol = "unknown_protocol"
	reasonNoClientCert    = "no_client_cert"
	reasonUntrustedCert   = "untrusted_cert"
	reasonHandshake       = "handshake"
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
}

// Mux is a node's cluster listener: one TLS port whose connections are
// routed by ALPN to Raft (StreamLayer), member RPC and joins (Serve).
type Mux struct {
	ln        net.Listener
	creds     *Credentials
	cfg       Config
	log       *slog.Logger
	raft      *streamLayer
	rpc, join *connListener

	stop      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
	slots     chan struct{}

	mu      sync.Mutex
	servers []*http.Server // started by Serve, closed by Close

	refused struct {
		unknownProtocol, noClientCert, untrustedCert, handshake atomic.Uint64
	}
}

// Listen opens the cluster listener on cfg.Listen with creds and starts
// accepting. An empty cfg.Advertise means the bound address (useful with
// port 0 in tests); cmd/kdcha passes cfg.WithDefaults(). Raft connections
// are served as soon as the StreamLayer is handed to a transport; RPC and
// join connections wait until Serve.
func Listen(cfg Config, creds *Credentials, log *slog.Logger) (*Mux, error) {
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
		slots: make(chan struct{}, maxHandshakes),
	}
	m.wg.Add(1)
	go m.acceptLoop()
	m.log.Info("cluster listener open", "listen", ln.Addr().String(), "advertise", cfg.Advertise, "node", creds.NodeID())
	return m, nil
}

// StreamLayer is the raft.StreamLayer to build the node's Raft transport
// on, e.g. raft.NewNetworkTransportWithLogger(m.StreamLayer(), 3, 10*time.Second, hlog).
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
		select {
		case m.slots <- struct{}{}:
		case <-m.stop:
			return
		}
		conn, err := m.ln.Accept()
		if err != nil {
			<-m.slots
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
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			m.route(conn)
		}()
	}
}

// route completes the handshake of one connection and hands it to its
// protocol's listener, or refuses it.
func (m *Mux) route(raw net.Conn) {
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
			return m.creds.serverConfig(proto), nil
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
	err := conn.HandshakeContext(ctx)
	cancel()
	<-m.slots
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
		l = m.raft.connListener
	case ProtoRPC:
		l, out = m.rpc, httpConn{conn}
	default:
		l, out = m.join, httpConn{conn}
	}
	if !l.deliver(out, m.stop) {
		conn.Close()
	}
}

// refusal classifies a finished handshake; "" means accept.
func (m *Mux) refusal(hello bool, proto string, err error, cs tls.ConnectionState) string {
	var cve *tls.CertificateVerificationError
	switch {
	case !hello:
		return reasonHandshake
	case proto == "":
		return reasonUnknownProtocol
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
	default:
		m.refused.handshake.Add(1)
	}
	level := slog.LevelWarn
	if reason == reasonHandshake {
		// TCP health checks and port scans end up here; they are
		// counted, but at Warn they would drown real refusals.
		level = slog.LevelDebug
	}
	m.log.Log(context.Background(), level, "cluster connection refused", "remote", remote.String(), "alpn", proto, "reason", reason, "err", err)
}
