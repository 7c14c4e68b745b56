package cluster

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// testLogger shows the package's logs with -v only; stderr rather than
// t.Output because raft and the mux may log after a test returned.
func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// newCluster creates a cluster's first node's credentials in a temp dir.
func newCluster(t testing.TB, nodeID string) *Credentials {
	t.Helper()
	c, err := CreateCluster(filepath.Join(t.TempDir(), "cluster"), nodeID)
	if err != nil {
		t.Fatalf("CreateCluster: %v", err)
	}
	return c
}

// addMember issues credentials for nodeID from ca's CA, as a join would,
// without the network.
func addMember(t *testing.T, ca *Credentials, nodeID string) *Credentials {
	t.Helper()
	key, err := newKey()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := signNode(ca.ca, ca.caKey, nodeID, key.Public(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c := &Credentials{dir: filepath.Join(t.TempDir(), "cluster"), nodeID: nodeID, ca: ca.ca, trusted: []*x509.Certificate{ca.ca}, caKey: ca.caKey, cert: cert, key: key}
	if err := c.save(); err != nil {
		t.Fatal(err)
	}
	return c
}

// startMux listens on loopback with creds and serves h (if not nil).
func startMux(t *testing.T, creds *Credentials, h Handler) *Mux {
	t.Helper()
	return startMuxMembers(t, creds, h, nil)
}

// startMuxMembers is startMux with a membership check.
func startMuxMembers(t *testing.T, creds *Credentials, h Handler, members Members) *Mux {
	t.Helper()
	m, err := Listen(Config{Listen: "127.0.0.1:0", DialTimeout: 2 * time.Second, RequestTimeout: 5 * time.Second}, creds, members, testLogger())
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("Mux.Close: %v", err)
		}
	})
	if h != nil {
		m.Serve(h)
	}
	return m
}

// fakeHandler plays a member: the leader is whoever *leader names.
type fakeHandler struct {
	self   string
	leader func() string

	// ca holds the CA key Admit hands out; tokens are the issued token
	// hashes, true once used.
	ca     *Credentials
	tokens map[string]bool

	mu        sync.Mutex
	forwarded [][]byte
	admitted  []string
	admitErr  error
	failWith  error
}

var errBoom = errors.New("boom")

func (h *fakeHandler) Forward(_ context.Context, payload []byte) ([]byte, error) {
	if l := h.leader(); l != h.self {
		return nil, &NotLeaderError{Leader: l}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.forwarded = append(h.forwarded, payload)
	if h.failWith != nil {
		return nil, h.failWith
	}
	return append([]byte("ok:"), payload...), nil
}

func (h *fakeHandler) Status(context.Context) ([]byte, error) {
	return []byte(`{"node":"` + h.self + `"}`), nil
}

// issue makes a token the handler accepts once.
func (h *fakeHandler) issue(t *testing.T) string {
	t.Helper()
	tok, hash, err := NewJoinToken(h.ca)
	if err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.tokens == nil {
		h.tokens = map[string]bool{}
	}
	h.tokens[hash] = false
	return tok
}

func (h *fakeHandler) Admit(_ context.Context, req AdmitRequest) (Admission, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.admitErr != nil {
		return Admission{}, h.admitErr
	}
	used, ok := h.tokens[req.TokenHash]
	if !ok || used {
		return Admission{}, fmt.Errorf("%w: unknown or used", ErrInvalidToken)
	}
	h.tokens[req.TokenHash] = true
	caKey, err := h.ca.CAKey()
	if err != nil {
		return Admission{}, err
	}
	h.admitted = append(h.admitted, req.NodeID+"@"+req.Addr)
	return Admission{Realm: "EXAMPLE.COM", MasterKey: []byte("master-key-bytes"), CAKey: caKey}, nil
}

func (h *fakeHandler) counts() (forwarded, admitted int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.forwarded), len(h.admitted)
}

// eventually polls cond for up to d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
