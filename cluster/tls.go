package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"slices"
)

// ALPN protocol names that separate the traffic sharing the cluster
// listener.
const (
	// ProtoRaft carries hashicorp/raft's NetworkTransport; mutual TLS.
	ProtoRaft = "kdcha-raft/1"
	// ProtoRPC carries HTTP/JSON calls between members; mutual TLS.
	ProtoRPC = "kdcha-rpc/1"
	// ProtoJoin carries the join request of a node that has no
	// certificate yet; server authentication only, the token proves the
	// joiner.
	ProtoJoin = "kdcha-join/1"
)

var allProtos = []string{ProtoRaft, ProtoRPC, ProtoJoin}

// All cluster peers are kdcha nodes, so there is no older client to
// accommodate.
const minTLS = tls.VersionTLS13

func (c *Credentials) certificate() tls.Certificate {
	c.mu.RLock()
	defer c.mu.RUnlock()
	// The CA goes with the leaf so that a joiner can find the certificate
	// its token pins in the chain the server presents.
	return tls.Certificate{Certificate: [][]byte{c.cert.Raw, c.ca.Raw}, PrivateKey: c.key, Leaf: c.cert}
}

// pool holds the CAs trusted now; every handshake builds its
// configuration anew (serverConfig, clientConfig), so a rotation applies
// to the next one.
func (c *Credentials) pool() *x509.CertPool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	p := x509.NewCertPool()
	for _, ca := range c.trusted {
		p.AddCert(ca)
	}
	return p
}

// serverConfig is the listener's configuration once the client's ALPN
// choice is known. Raft and RPC ask for a client certificate and verify
// any that is given against the cluster CA; the mux then refuses a
// connection without one, so that "no certificate" and "untrusted
// certificate" are told apart in counters and logs.
func (c *Credentials) serverConfig(proto string) *tls.Config {
	cfg := &tls.Config{
		MinVersion:   minTLS,
		Certificates: []tls.Certificate{c.certificate()},
		NextProtos:   allProtos,
		ClientAuth:   tls.NoClientCert,
	}
	if proto == ProtoRaft || proto == ProtoRPC {
		cfg.NextProtos = []string{proto}
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
		cfg.ClientCAs = c.pool()
	}
	return cfg
}

// clientConfig authenticates to a member and verifies it by the cluster
// CA and ServerName, whatever address it was dialed at.
func (c *Credentials) clientConfig(proto string) *tls.Config {
	return &tls.Config{
		MinVersion:   minTLS,
		Certificates: []tls.Certificate{c.certificate()},
		RootCAs:      c.pool(),
		ServerName:   ServerName,
		NextProtos:   []string{proto},
	}
}

// dial opens a mutual-TLS connection to a member for proto; ctx bounds the
// TCP connect and the handshake.
func (c *Credentials) dial(ctx context.Context, addr, proto string) (*tls.Conn, error) {
	d := &tls.Dialer{NetDialer: &net.Dialer{}, Config: c.clientConfig(proto)}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s (%s): %w", addr, proto, err)
	}
	return conn.(*tls.Conn), nil
}

// pinnedConfig is the joiner's configuration: it has no CA yet, so it
// accepts the server only if the chain it presents contains the CA whose
// fingerprint the token pins and the leaf is a node certificate from it.
func pinnedConfig(pin string) *tls.Config {
	return &tls.Config{
		MinVersion: minTLS,
		NextProtos: []string{ProtoJoin},
		// Standard verification needs roots we do not have yet;
		// VerifyConnection below does the equivalent against the pinned CA.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			return verifyPinned(cs.PeerCertificates, pin)
		},
	}
}

func verifyPinned(chain []*x509.Certificate, pin string) error {
	i := slices.IndexFunc(chain, func(c *x509.Certificate) bool { return fingerprint(c.Raw) == pin })
	if i < 1 || !chain[i].IsCA {
		return ErrFingerprintMismatch
	}
	pool := x509.NewCertPool()
	pool.AddCert(chain[i])
	if _, err := chain[0].Verify(x509.VerifyOptions{DNSName: ServerName, Roots: pool}); err != nil {
		return fmt.Errorf("%w: %w", ErrFingerprintMismatch, err)
	}
	return nil
}
