package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"testing"
	"time"
)

// TestMuxRefuses dials the listener the way an attacker or a misconfigured
// node would. The client skips server verification so that only the
// server's decision is under test.
func TestMuxRefuses(t *testing.T) {
	member := newCluster(t, "kdc1")
	peer := addMember(t, member, "kdc2")
	stranger := newCluster(t, "stranger")
	m := startMux(t, member, nil) // no Serve: accepted RPC/join conns wait, which the test observes

	tests := []struct {
		name    string
		cert    *Credentials // nil: no client certificate
		alpn    []string
		plain   bool // send plain bytes instead of TLS
		refused bool
		counter func(RefusedStats) uint64
	}{
		{"member on raft", peer, []string{ProtoRaft}, false, false, nil},
		{"member on rpc", peer, []string{ProtoRPC}, false, false, nil},
		{"no certificate on join", nil, []string{ProtoJoin}, false, false, nil},
		{"other CA on raft", stranger, []string{ProtoRaft}, false, true, func(s RefusedStats) uint64 { return s.UntrustedCert }},
		{"other CA on rpc", stranger, []string{ProtoRPC}, false, true, func(s RefusedStats) uint64 { return s.UntrustedCert }},
		{"no certificate on raft", nil, []string{ProtoRaft}, false, true, func(s RefusedStats) uint64 { return s.NoClientCert }},
		{"no certificate on rpc", nil, []string{ProtoRPC}, false, true, func(s RefusedStats) uint64 { return s.NoClientCert }},
		{"unknown ALPN", peer, []string{"h2"}, false, true, func(s RefusedStats) uint64 { return s.UnknownProtocol }},
		{"no ALPN", peer, nil, false, true, func(s RefusedStats) uint64 { return s.UnknownProtocol }},
		{"not TLS", nil, nil, true, true, func(s RefusedStats) uint64 { return s.Handshake }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before uint64
			if tt.counter != nil {
				before = tt.counter(m.Refused())
			}
			open := probe(t, m.Addr().String(), tt.cert, tt.alpn, tt.plain)
			if open == tt.refused {
				t.Fatalf("connection open = %v, want refused = %v", open, tt.refused)
			}
			if tt.counter != nil {
				eventually(t, 2*time.Second, "refusal counted", func() bool { return tt.counter(m.Refused()) == before+1 })
			}
		})
	}
}

// probe connects and reports whether the server kept the connection open:
// an accepted connection idles (the read times out), a refused one is
// closed or alerted.
func probe(t *testing.T, addr string, creds *Credentials, alpn []string, plain bool) bool {
	t.Helper()
	raw, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	conn := raw
	if plain {
		if _, err := raw.Write([]byte("GET / HTTP/1.0\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
	} else {
		cfg := &tls.Config{InsecureSkipVerify: true, NextProtos: alpn, MinVersion: tls.VersionTLS13}
		if creds != nil {
			cfg.Certificates = []tls.Certificate{creds.certificate()}
		}
		tc := tls.Client(raw, cfg)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := tc.HandshakeContext(ctx); err != nil {
			return false
		}
		conn = tc
	}
	if err := conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	_, err = conn.Read(make([]byte, 1))
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestClientRefusedWithForeignCredentials(t *testing.T) {
	member := newCluster(t, "kdc1")
	m := startMux(t, member, &fakeHandler{self: "x", leader: func() string { return "x" }})
	tests := []struct {
		name    string
		creds   *Credentials
		wantErr bool
	}{
		{"member", addMember(t, member, "kdc2"), false},
		{"other cluster", newCluster(t, "stranger"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewClient(tt.creds, Config{}).Status(context.Background(), m.Advertise())
			if (err != nil) != tt.wantErr {
				t.Fatalf("Status error = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func TestListenAdvertise(t *testing.T) {
	creds := newCluster(t, "kdc1")
	tests := []struct {
		name string
		cfg  Config
		want func(m *Mux) string // nil: Listen must fail with ErrInvalid
	}{
		{"port 0 advertises the bound address", Config{Listen: "127.0.0.1:0"}, func(m *Mux) string { return m.Addr().String() }},
		{"explicit advertise", Config{Listen: "127.0.0.1:0", Advertise: "192.0.2.1:7946"}, func(*Mux) string { return "192.0.2.1:7946" }},
		{"wildcard without advertise", Config{Listen: "0.0.0.0:0"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Listen(tt.cfg, creds, nil, testLogger())
			if tt.want == nil {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("Listen = %v, want ErrInvalid", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Listen: %v", err)
			}
			defer m.Close()
			if got, want := m.Advertise(), tt.want(m); got != want {
				t.Errorf("Advertise = %s, want %s", got, want)
			}
			if got := m.StreamLayer().Addr().String(); got != m.Advertise() {
				t.Errorf("StreamLayer address = %s, want the advertised %s", got, m.Advertise())
			}
		})
	}
}
