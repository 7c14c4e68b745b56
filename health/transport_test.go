package health

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strconv"
	"testing"
	"time"
)

// blackHoleTCP accepts connections and reads forever without answering,
// like a KDC whose process is frozen but whose kernel still completes
// handshakes.
func blackHoleTCP(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(io.Discard, c) }()
		}
	}()
	return l.Addr().String()
}

// tcpServer answers each connection with reply(request) written raw.
func tcpServer(t *testing.T, reply func(req []byte) []byte) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				var hdr [4]byte
				if _, err := io.ReadFull(c, hdr[:]); err != nil {
					return
				}
				req := make([]byte, binary.BigEndian.Uint32(hdr[:]))
				if _, err := io.ReadFull(c, req); err != nil {
					return
				}
				_, _ = c.Write(reply(req))
			}()
		}
	}()
	return l.Addr().String()
}

// closedPort returns an address nothing listens on, for TCP and UDP.
func closedPort(t *testing.T) string {
	t.Helper()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
}

func TestExchange(t *testing.T) {
	const timeout = 200 * time.Millisecond
	blackHoleUDP := startFakeKDC(t, func([]byte) []byte { return nil }).addr
	echoUDP := startFakeKDC(t, func(req []byte) []byte { return append([]byte("re:"), req...) }).addr
	framed := func(b []byte) []byte {
		out := binary.BigEndian.AppendUint32(nil, uint32(len(b)))
		return append(out, b...)
	}
	for _, tc := range []struct {
		name      string
		tr        Transport
		addr      string
		wantKind  FailureKind
		wantReply string
	}{
		{"udp reply", TransportUDP, echoUDP, KindNone, "re:ping"},
		{"udp black hole", TransportUDP, blackHoleUDP, KindTimeout, ""},
		{"udp nothing listening", TransportUDP, closedPort(t), KindNetwork, ""},
		{"tcp reply", TransportTCP, tcpServer(t, func(req []byte) []byte { return framed(append([]byte("re:"), req...)) }), KindNone, "re:ping"},
		{"tcp black hole", TransportTCP, blackHoleTCP(t), KindTimeout, ""},
		{"tcp nothing listening", TransportTCP, closedPort(t), KindNetwork, ""},
		{"tcp reserved length bit", TransportTCP, tcpServer(t, func([]byte) []byte { return []byte{0x80, 0, 0, 1, 0} }), KindBadReply, ""},
		{"tcp length over 1 MiB", TransportTCP, tcpServer(t, func([]byte) []byte { return []byte{0, 0x20, 0, 0} }), KindBadReply, ""},
		{"tcp reply cut short", TransportTCP, tcpServer(t, func([]byte) []byte { return []byte{0, 0, 0, 9, 1} }), KindNetwork, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			start := time.Now()
			reply, err := exchange(ctx, tc.tr, tc.addr, "as-req", []byte("ping"))
			elapsed := time.Since(start)
			if elapsed > timeout+100*time.Millisecond {
				t.Errorf("exchange took %v, beyond its %v deadline", elapsed, timeout)
			}
			if tc.wantKind == KindNone {
				if err != nil || string(reply) != tc.wantReply {
					t.Fatalf("reply %q, err %v; want %q", reply, err, tc.wantReply)
				}
				return
			}
			var ce *CheckError
			if !errors.As(err, &ce) || ce.Kind != tc.wantKind || ce.Step != "as-req" {
				t.Fatalf("err %v, want a %v failure of step as-req", err, tc.wantKind)
			}
			if tc.wantKind == KindTimeout {
				if !errors.Is(err, ErrNoReply) {
					t.Errorf("timeout %v does not wrap ErrNoReply", err)
				}
				if elapsed < timeout-10*time.Millisecond {
					t.Errorf("timed out after %v, before the %v deadline", elapsed, timeout)
				}
			}
		})
	}
}

func TestExchangeCancel(t *testing.T) {
	addr := startFakeKDC(t, func([]byte) []byte { return nil }).addr
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := exchange(ctx, TransportUDP, addr, "as-req", []byte("ping"))
	if err == nil || time.Since(start) > time.Second {
		t.Fatalf("cancel did not end the exchange promptly: %v after %v", err, time.Since(start))
	}
}
