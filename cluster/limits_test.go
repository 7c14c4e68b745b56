package cluster

import (
	"fmt"
	"net"
	"testing"
	"time"
)

// dialFrom opens a TCP connection to addr from the loopback address src
// (all of 127/8 is local on Linux), sending nothing.
func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedWithin reports whether the server closes c within d.
func closedWithin(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := c.Read(make([]byte, 1))
	ne, ok := err.(net.Error)
	return err != nil && !(ok && ne.Timeout())
}

// TestSilentConnectionsFromOneSource: 64 connections that never speak,
// from one host, take only that host's handshake slots: a member's
// forwarded write and handshake from elsewhere go through at once, the
// excess is refused and counted, and the rest are dropped after the
// handshake deadline. With one global pool of 64 slots and a 10 s
// deadline, the write waited for 10 s.
func TestSilentConnectionsFromOneSource(t *testing.T) {
	t.Parallel()
	member := newCluster(t, "kdc1")
	peer := addMember(t, member, "kdc2")
	m := startMux(t, member, &fakeHandler{self: "kdc1", leader: func() string { return "kdc1" }})
	addr := m.Addr().String()
	silent := make([]net.Conn, 64)
	for i := range silent {
		silent[i] = dialFrom(t, "127.0.0.2", addr)
	}
	eventually(t, 2*time.Second, "excess refused", func() bool {
		return m.Refused().TooManyHandshakes == uint64(len(silent)-maxSourceHandshakes)
	})

	start := time.Now()
	if _, err := NewClient(peer, Config{}).Forward(t.Context(), addr, []byte("w")); err != nil {
		t.Fatalf("forwarded write during the flood: %v", err)
	}
	took := time.Since(start)
	if took > time.Second {
		t.Fatalf("forwarded write took %v during the flood", took)
	}
	t.Logf("forwarded write during a flood of %d silent connections: %v", len(silent), took)
	if !probe(t, addr, peer, []string{ProtoRaft}, false) {
		t.Fatal("member's raft handshake refused during the flood")
	}

	// The held ones are dropped at the handshake deadline.
	start = time.Now()
	for i, c := range silent {
		if !closedWithin(c, handshakeTimeout+2*time.Second) {
			t.Fatalf("silent connection %d still open after %v", i, time.Since(start))
		}
	}
	if took := time.Since(start); took > handshakeTimeout+time.Second {
		t.Fatalf("silent connections closed after %v, deadline is %v", took, handshakeTimeout)
	}
	// The handshake's context closes the connection before route counts
	// the refusal.
	eventually(t, time.Second, "the held silent connections counted as handshake refusals", func() bool {
		return m.Refused().Handshake == maxSourceHandshakes
	})
}

// TestHandshakesCappedInTotal: many sources together cannot hold more
// than maxHandshakes handshakes; beyond that a connection is refused at
// once and counted.
func TestHandshakesCappedInTotal(t *testing.T) {
	t.Parallel()
	m := startMux(t, newCluster(t, "kdc1"), nil)
	addr := m.Addr().String()
	for i := range maxHandshakes {
		dialFrom(t, fmt.Sprintf("127.0.1.%d", 1+i/maxSourceHandshakes), addr)
	}
	// Accept is asynchronous: wait until all hold a slot.
	eventually(t, 2*time.Second, "all slots taken", func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.handshakes == maxHandshakes
	})
	extra := dialFrom(t, "127.0.2.1", addr)
	if !closedWithin(extra, time.Second) {
		t.Fatal("connection beyond the total cap not refused at once")
	}
	if got := m.Refused().TooManyHandshakes; got != 1 {
		t.Fatalf("too_many_handshakes = %d, want 1", got)
	}
}
