package kdc

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/messages"
)

// startServer runs a Server on a loopback port with the given config tweaks.
func startServer(t *testing.T, tweak func(*Config)) (*testKDC, string) {
	t.Helper()
	k := newTestKDC(t)
	return k, startServerFor(t, k, tweak)
}

// startServerFor runs a Server for k's Handler and returns its address.
func startServerFor(t *testing.T, k *testKDC, tweak func(*Config)) string {
	t.Helper()
	return serveTest(t, k, tweak).Addrs()[0].String()
}

// serveTest runs a Server for k's Handler until the test ends.
func serveTest(t *testing.T, k *testKDC, tweak func(*Config), opts ...ServerOption) *Server {
	t.Helper()
	k.now = time.Now().UTC()
	cfg := DefaultConfig()
	cfg.Listen = []string{"127.0.0.1:0"}
	if tweak != nil {
		tweak(&cfg)
	}
	s, err := Listen(cfg, k.h, slog.New(slog.NewTextHandler(io.Discard, nil)), opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Serve(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return s
}

func TestTCPSeveralRequestsPerConnection(t *testing.T) {
	k, addr := startServer(t, nil)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 3 {
		if _, err := c.Write(AppendFrame(nil, k.asReq(t, asReq{client: "alice"}))); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		reply, err := ReadFrame(c, 1<<20)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if e := krbErrorCode(t, reply); e.ErrorCode != errorcode.KDC_ERR_PREAUTH_REQUIRED {
			t.Fatalf("request %d: error %d", i, e.ErrorCode)
		}
	}
}

func TestTCPHostileLengthPrefix(t *testing.T) {
	_, addr := startServer(t, nil)
	for _, prefix := range []uint32{0x7fffffff, 0x80000010, 256<<10 + 1} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Write(binary.BigEndian.AppendUint32(nil, prefix))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		reply, err := ReadFrame(c, 1<<20)
		if err != nil {
			t.Fatalf("prefix %#x: no KRB-ERROR: %v", prefix, err)
		}
		var e messages.KRBError
		if err := e.Unmarshal(reply); err != nil || e.ErrorCode != errorcode.KRB_ERR_FIELD_TOOLONG {
			t.Fatalf("prefix %#x: reply %v code %d, want FIELD_TOOLONG", prefix, err, e.ErrorCode)
		}
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
			t.Fatalf("prefix %#x: connection not closed: %v", prefix, err)
		}
		c.Close()
	}
}

func TestUDPExchangeAndTooBig(t *testing.T) {
	k, addr := startServer(t, func(c *Config) { c.MaxUDPReply = 512 })
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	alice := k.db.byName["alice@"+testRealm]
	key := alice.Keys[0]
	c.Write(k.asReq(t, asReq{client: "alice", preauthKey: &key}))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 65536)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	if e := krbErrorCode(t, buf[:n]); e.ErrorCode != errorcode.KRB_ERR_RESPONSE_TOO_BIG {
		t.Fatalf("error %d, want RESPONSE_TOO_BIG for a reply over 512 bytes", e.ErrorCode)
	}
}

func TestListenErrors(t *testing.T) {
	k := newTestKDC(t)
	for _, addrs := range [][]string{{"not-an-address"}, {"example.com:88"}, {"127.0.0.1:99999"}} {
		cfg := DefaultConfig()
		cfg.Listen = addrs
		if _, err := Listen(cfg, k.h, slog.Default()); err == nil {
			t.Errorf("Listen(%v) succeeded", addrs)
		}
	}
	// A port already in use is reported at startup.
	_, addr := startServer(t, nil)
	cfg := DefaultConfig()
	cfg.Listen = []string{addr}
	if _, err := Listen(cfg, k.h, slog.Default()); err == nil {
		t.Error("Listen on a busy port succeeded")
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	bad := DefaultConfig()
	bad.Listen = nil
	bad.MaxUDPReply = 10
	bad.TCPBacklog = 0
	bad.RequestMaxAge = -time.Second
	bad.TCPRequestTimeout = 0
	bad.TCPMaxConnectionsPerSource = 0
	err := bad.Validate()
	for _, key := range []string{"kdc.listen", "kdc.max_udp_reply", "kdc.request_max_age", "kdc.tcp_backlog", "kdc.tcp_request_timeout", "kdc.tcp_max_connections_per_source"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("Validate does not name %s: %v", key, err)
		}
	}
}
