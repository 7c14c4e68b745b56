package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// Handler is what the member RPC and join servers delegate to; cmd/kdcha
// implements it over the principal database. Its methods are called
// concurrently.
type Handler interface {
	// Forward runs a request another member forwarded to this node as the
	// leader (db's HandleForwarded) and returns its opaque reply. When
	// this node is not the leader it returns a *NotLeaderError naming the
	// leader's cluster address (its Raft address), so the caller can
	// retry there. Application errors are best encoded inside the reply:
	// any other error reaches the caller as a *RemoteError.
	Forward(ctx context.Context, payload []byte) ([]byte, error)
	// Status returns this node's status as JSON.
	Status(ctx context.Context) ([]byte, error)
	// Admit admits a node whose request this package has checked (the
	// token's CA pin, node ID, address, certificate request): it uses up
	// the join token whose secret hashes to req.TokenHash (single use,
	// valid whichever member issued it; ErrInvalidToken otherwise), adds
	// the node to the Raft configuration (through the leader) with
	// req.Addr as its Raft address, refusing an ID that is a member at
	// another address, and returns what the node needs to serve the realm
	// plus the CA key to sign its certificate with. An error aborts the
	// join and is reported to the joiner.
	//
	// Add the node as a non-voter and let it promote itself (AddVoter,
	// forwarded) once it runs: the joiner only starts Raft after this call
	// returns, and a voter counts towards quorum at once. Growing from one
	// node to two, hashicorp/raft's leader steps down right after AddVoter
	// and the cluster has no leader until the joiner runs, or ever, if it
	// never starts.
	Admit(ctx context.Context, req AdmitRequest) (Admission, error)
}

// AdmitRequest is a checked join request, as Handler.Admit gets it.
type AdmitRequest struct {
	// NodeID is the joiner's node ID (certificate CN, Raft ID).
	NodeID string
	// Addr is the joiner's cluster address, its Raft address.
	Addr string
	// TokenHash is the lowercase hex SHA-256 of the join token's secret,
	// as NewJoinToken returned it when the token was issued.
	TokenHash string
}

// Admission is what Handler.Admit gives a joining node.
type Admission struct {
	// Realm is the Kerberos realm the cluster serves.
	Realm string
	// MasterKey is the realm master key stash content, opaque here; it
	// travels only inside the join's TLS connection.
	MasterKey []byte
	// CAKey is the cluster CA key (PKCS#8 DER). It signs the joiner's
	// certificate and is then dropped; it is never sent.
	CAKey []byte
}

// Serve starts the member RPC (ProtoRPC) and join (ProtoJoin) servers
// with h. Connections that arrived before wait for it. It returns at once;
// Close stops the servers.
func (m *Mux) Serve(h Handler) {
	rpc := http.NewServeMux()
	rpc.HandleFunc("POST "+pathForward, m.handleForward(h))
	rpc.HandleFunc("GET "+pathStatus, m.handleStatus(h))
	join := http.NewServeMux()
	join.HandleFunc("POST "+pathJoin, m.handleJoin(h))

	errLog := slog.NewLogLogger(m.log.Handler(), slog.LevelDebug)
	for _, s := range []struct {
		l *connListener
		h http.Handler
	}{{m.rpc, m.onlyMembers(rpc)}, {m.join, join}} {
		srv := &http.Server{
			Handler:           s.h,
			ReadHeaderTimeout: m.cfg.RequestTimeout,
			IdleTimeout:       time.Minute,
			ErrorLog:          errLog,
			ConnContext:       connContext,
		}
		m.mu.Lock()
		select {
		case <-m.stop:
			// Closed already: starting now would outlive Close.
			m.mu.Unlock()
			return
		default:
		}
		m.servers = append(m.servers, srv)
		m.wg.Add(1)
		m.mu.Unlock()
		go func() {
			defer m.wg.Done()
			if err := srv.Serve(s.l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				m.log.Debug("cluster http server stopped", "err", err)
			}
		}()
	}
}

// onlyMembers checks on every request that the peer is still a member:
// the handshake checked it once, and a removed node must not go on using
// a connection opened before.
func (m *Mux) onlyMembers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id := peerID(r); !m.isMember(id) {
			err := fmt.Errorf("%w: node %q", ErrNotMember, id)
			m.refuse(remoteAddr(r.RemoteAddr), ProtoRPC, reasonNotMember, err)
			writeError(w, err)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (m *Mux) handleForward(h Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		payload, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxForwardBytes))
		if err != nil {
			writeError(w, fmt.Errorf("%w: read forwarded request: %w", ErrInvalid, err))
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), m.cfg.RequestTimeout)
		defer cancel()
		reply, err := h.Forward(ctx, payload)
		if err != nil {
			if !errors.Is(err, ErrNotLeader) {
				m.log.Warn("forwarded request failed", "peer", peerID(r), "err", err)
			}
			writeError(w, err)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(reply) // a failed write means the caller is gone
	}
}

func (m *Mux) handleStatus(h Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), m.cfg.RequestTimeout)
		defer cancel()
		b, err := h.Status(ctx)
		if err != nil {
			writeError(w, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b) // a failed write means the caller is gone
	}
}

// peerID is the node ID of an authenticated member, for logs.
func peerID(r *http.Request) string {
	cs, ok := r.Context().Value(peerKey{}).(tls.ConnectionState)
	if !ok || len(cs.PeerCertificates) == 0 {
		return ""
	}
	return cs.PeerCertificates[0].Subject.CommonName
}
