package cluster

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// handleJoin admits a node: token, certificate request, Handler.Admit
// (which uses the token up and adds the node), then the certificate and
// the realm's secrets in the reply.
func (m *Mux) handleJoin(h Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req JoinRequest
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJoinBytes)).Decode(&req); err != nil {
			writeError(w, fmt.Errorf("%w: join request: %w", ErrInvalid, err))
			return
		}
		log := m.log.With("remote", r.RemoteAddr, "joiner", req.NodeID, "advertise", req.Advertise)
		resp, err := m.admit(r.Context(), h, req)
		if err != nil {
			log.Warn("join refused", "err", err)
			writeError(w, err)
			return
		}
		log.Info("node joined the cluster")
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(resp) // a failed write means the joiner is gone
	}
}

// admit checks req and, if it is acceptable, has the Handler use the token
// and add the node, and signs its certificate with the CA key the Handler
// opened for it. The request is checked completely before the token is
// used, so that a malformed request does not burn it.
func (m *Mux) admit(ctx context.Context, h Handler, req JoinRequest) (*JoinResponse, error) {
	tok, err := parseToken(req.Token)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(tok.fingerprint), []byte(m.creds.Fingerprint())) != 1 {
		return nil, fmt.Errorf("%w: issued for another cluster", ErrInvalidToken)
	}
	if err := validNodeID(req.NodeID); err != nil {
		return nil, err
	}
	if err := checkAdvertise(req.Advertise); err != nil {
		return nil, fmt.Errorf("%w: advertise address: %w", ErrInvalid, err)
	}
	csr, err := parseCSR(req.CSR)
	if err != nil {
		return nil, err
	}
	if err := checkSigningKey(csr.PublicKey); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, m.cfg.RequestTimeout)
	defer cancel()
	adm, err := h.Admit(ctx, AdmitRequest{NodeID: req.NodeID, Addr: req.Advertise, TokenHash: hashSecret(tok.secret)})
	if err != nil {
		return nil, fmt.Errorf("admit %s: %w", req.NodeID, err)
	}
	cert, ca, err := m.creds.signWith(adm.CAKey, req.NodeID, csr.PublicKey, time.Now())
	if err != nil {
		return nil, fmt.Errorf("admit %s: %w", req.NodeID, err)
	}
	return &JoinResponse{
		NodeCert:  cert.Raw,
		CACert:    ca.Raw,
		Realm:     adm.Realm,
		MasterKey: adm.MasterKey,
	}, nil
}

// JoinCluster is `kdcha cluster join`: it makes this node's key, asks the
// member at addr to admit nodeID (reachable at advertise) with token,
// checks the answer against the CA the token pins, and writes the
// credentials into dir (which must not hold any). It returns them with
// the realm and master key, which the caller stores (the master key in the
// stash file). timeout bounds the whole exchange.
func JoinCluster(ctx context.Context, addr, token, nodeID, advertise, dir string, timeout time.Duration) (*Credentials, Admission, error) {
	tok, err := parseToken(token)
	if err != nil {
		return nil, Admission{}, err
	}
	if err := validNodeID(nodeID); err != nil {
		return nil, Admission{}, err
	}
	if err := checkAdvertise(advertise); err != nil {
		return nil, Admission{}, fmt.Errorf("%w: advertise address: %w", ErrInvalid, err)
	}
	if err := checkNoCredentials(dir); err != nil {
		return nil, Admission{}, err
	}
	key, err := newKey()
	if err != nil {
		return nil, Admission{}, err
	}
	csr, err := newCSR(key, nodeID)
	if err != nil {
		return nil, Admission{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := postJoin(ctx, addr, tok.fingerprint, JoinRequest{Token: token, NodeID: nodeID, Advertise: advertise, CSR: csr})
	if err != nil {
		return nil, Admission{}, fmt.Errorf("join via %s: %w", addr, err)
	}
	c, err := credentialsFromJoin(resp, key, nodeID, tok.fingerprint, dir)
	if err != nil {
		return nil, Admission{}, fmt.Errorf("join via %s: %w", addr, err)
	}
	if err := c.save(); err != nil {
		return nil, Admission{}, fmt.Errorf("save cluster credentials in %s: %w", dir, err)
	}
	return c, Admission{Realm: resp.Realm, MasterKey: resp.MasterKey}, nil
}

// postJoin sends req over ProtoJoin to a server that must present the
// pinned CA.
func postJoin(ctx context.Context, addr, pin string, req JoinRequest) (*JoinResponse, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode join request: %w", err)
	}
	hc := &http.Client{Transport: &http.Transport{
		DialTLSContext: func(ctx context.Context, _, a string) (net.Conn, error) {
			d := &tls.Dialer{NetDialer: &net.Dialer{}, Config: pinnedConfig(pin)}
			return d.DialContext(ctx, "tcp", a)
		},
		DisableKeepAlives: true,
	}}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+addr+pathJoin, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: join address %q: %w", ErrInvalid, addr, err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hresp, err := hc.Do(hreq)
	if err != nil {
		return nil, err
	}
	defer hresp.Body.Close()
	if hresp.StatusCode != http.StatusOK {
		return nil, readError(addr, hresp)
	}
	var resp JoinResponse
	if err := json.NewDecoder(io.LimitReader(hresp.Body, maxJoinBytes)).Decode(&resp); err != nil {
		return nil, fmt.Errorf("decode join response: %w", err)
	}
	return &resp, nil
}

// credentialsFromJoin checks the member's answer before anything is
// written: the CA is the pinned one and the certificate is ours and
// chains to it.
func credentialsFromJoin(resp *JoinResponse, key *ecdsa.PrivateKey, nodeID, pin, dir string) (*Credentials, error) {
	ca, err := x509.ParseCertificate(resp.CACert)
	if err != nil {
		return nil, fmt.Errorf("CA certificate in join response: %w", err)
	}
	if fingerprint(ca.Raw) != pin {
		return nil, fmt.Errorf("CA certificate in join response: %w", ErrFingerprintMismatch)
	}
	cert, err := x509.ParseCertificate(resp.NodeCert)
	if err != nil {
		return nil, fmt.Errorf("node certificate in join response: %w", err)
	}
	if cert.Subject.CommonName != nodeID {
		return nil, fmt.Errorf("node certificate in join response names %q, not %q", cert.Subject.CommonName, nodeID)
	}
	c := &Credentials{dir: dir, nodeID: nodeID, ca: ca, trusted: []*x509.Certificate{ca}, cert: cert, key: key}
	if err := c.check(time.Now()); err != nil {
		return nil, fmt.Errorf("join response: %w", err)
	}
	return c, nil
}
