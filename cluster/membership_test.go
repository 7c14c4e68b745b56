package cluster

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// memberSet is a Members whose content a test changes, as Raft
// configuration changes do in the product.
type memberSet struct {
	mu  sync.Mutex
	ids map[string]bool
}

func newMemberSet(ids ...string) *memberSet {
	s := &memberSet{ids: map[string]bool{}}
	for _, id := range ids {
		s.ids[id] = true
	}
	return s
}

func (s *memberSet) has(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ids[id]
}

func (s *memberSet) remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.ids, id)
}

// TestMuxRefusesNonMembers: a certificate of the cluster CA whose node is
// not a member is refused on Raft and RPC at the handshake and counted;
// joins need no membership.
func TestMuxRefusesNonMembers(t *testing.T) {
	member := newCluster(t, "kdc1")
	peer := addMember(t, member, "kdc2")
	removed := addMember(t, member, "kdc3")
	m := startMuxMembers(t, member, nil, newMemberSet("kdc1", "kdc2").has)
	for _, tt := range []struct {
		name  string
		creds *Credentials
		alpn  string
		open  bool
	}{
		{"member on raft", peer, ProtoRaft, true},
		{"member on rpc", peer, ProtoRPC, true},
		{"removed node on raft", removed, ProtoRaft, false},
		{"removed node on rpc", removed, ProtoRPC, false},
		{"removed node on join", removed, ProtoJoin, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := m.Refused().NotMember
			if open := probe(t, m.Addr().String(), tt.creds, []string{tt.alpn}, false); open != tt.open {
				t.Fatalf("connection open = %v, want %v", open, tt.open)
			}
			want := before
			if !tt.open {
				want++
			}
			eventually(t, 2*time.Second, "not_member count", func() bool { return m.Refused().NotMember == want })
		})
	}
}

// TestRemovedMemberLosesOpenConnections: raft and HTTP keep connections
// open, so a node removed after its handshake must fail on its next Raft
// read and its next RPC request on the same connection.
func TestRemovedMemberLosesOpenConnections(t *testing.T) {
	member := newCluster(t, "kdc1")
	peer := addMember(t, member, "kdc2")
	set := newMemberSet("kdc1", "kdc2")
	h := &fakeHandler{self: "kdc1", leader: func() string { return "kdc1" }}
	m := startMuxMembers(t, member, h, set.has)

	// Raft: an established stream.
	client, err := peer.dial(t.Context(), m.Addr().String(), ProtoRaft)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := m.StreamLayer().Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	if _, err := client.Write([]byte("a")); err != nil {
		t.Fatal(err)
	}
	if _, err := server.Read(make([]byte, 1)); err != nil {
		t.Fatalf("member's raft read: %v", err)
	}

	// RPC: one kept-alive connection.
	hc := &http.Client{Transport: &http.Transport{DialTLSContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
		return peer.dial(ctx, addr, ProtoRPC)
	}}}
	forward := func() (*http.Response, error) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, "https://"+m.Addr().String()+pathForward, nil)
		return hc.Do(req)
	}
	resp, err := forward()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("member's forward: %v %v", resp, err)
	}
	io.Copy(io.Discard, resp.Body) // so that the connection is reused
	resp.Body.Close()
	set.remove("kdc2")

	before := m.Refused().NotMember
	if _, err := client.Write([]byte("b")); err != nil {
		t.Fatal(err)
	}
	if _, err := server.Read(make([]byte, 1)); !errors.Is(err, ErrNotMember) {
		t.Fatalf("removed node's raft read: err = %v, want ErrNotMember", err)
	}
	client.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := client.Read(make([]byte, 1)); err == nil {
		t.Fatal("removed node's raft connection still open")
	}
	resp, err = forward()
	if err != nil {
		t.Fatalf("removed node's forward on the kept connection: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("removed node's forward: status %s, want 403", resp.Status)
	}
	if n, _ := h.counts(); n != 1 {
		t.Fatalf("handler saw %d forwarded requests, want only the member's 1", n)
	}
	if got := m.Refused().NotMember; got != before+2 {
		t.Fatalf("not_member count = %d, want %d", got, before+2)
	}
	// A new connection is refused at the handshake.
	if _, err := NewClient(peer, Config{}).Forward(t.Context(), m.Addr().String(), []byte("x")); err == nil {
		t.Fatal("removed node's forward on a new connection succeeded")
	}
}
