package kdc

import (
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// echoTo answers each request with the local address it arrived on.
type echoTo struct{}

func (echoTo) Handle(req Request) []byte       { return []byte(req.To.String()) }
func (echoTo) ErrorReply(int32, string) []byte { return nil }
func discardLog() *slog.Logger                 { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
func serveResponder(t *testing.T, h Responder, cfg Config, wall func() time.Time) *Server {
	t.Helper()
	s, err := Listen(cfg, h, discardLog())
	if err != nil {
		t.Fatal(err)
	}
	if wall != nil {
		s.wall = wall
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Serve(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return s
}

// TestUDPReplyFromArrivalAddress: on a wildcard socket group, a reply
// leaves from the address its request was sent to, which a client's
// connected socket requires (MIT's are): 127.0.0.2 here, where the kernel
// would pick 127.0.0.1 by itself. The handler sees that address as To.
func TestUDPReplyFromArrivalAddress(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Listen = []string{"0.0.0.0:0"}
	s := serveResponder(t, echoTo{}, cfg, nil)
	if got := len(s.udp[0]); got != s.readers || got < 1 {
		t.Fatalf("%d UDP sockets, want one per reader (%d)", got, s.readers)
	}
	port := s.Addrs()[0].Port()
	for i := range 8 { // several source ports: several sockets of the group
		c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.2"), port)))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write([]byte{tagASReq}); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 64)
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("client %d: no reply on a connected socket: %v", i, err)
		}
		if got := string(buf[:n]); got != "127.0.0.2" {
			t.Fatalf("client %d: request seen as sent to %q, want 127.0.0.2", i, got)
		}
	}
}

// TestUDPReadWriteAllocateNothing: reading a datagram with its
// destination and timestamp and answering it from that address allocate
// nothing: the buffers are the worker's.
func TestUDPReadWriteAllocateNothing(t *testing.T) {
	u, err := listenUDP(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer u.close()
	c, err := net.DialUDP("udp4", nil, u.localAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const runs = 20
	for range runs + 1 { // AllocsPerRun runs once more to warm up
		if _, err := c.Write([]byte("request")); err != nil {
			t.Fatal(err)
		}
	}
	buf, oob := make([]byte, 65536), make([]byte, udpOOBSize)
	var bad error
	allocs := testing.AllocsPerRun(runs, func() {
		n, from, to, at, err := u.read(buf, oob)
		if err == nil && (to != netip.MustParseAddr("127.0.0.1") || time.Since(at) > time.Minute || time.Since(at) < 0) {
			err = net.UnknownNetworkError("bad destination or timestamp")
		}
		if err == nil {
			err = u.write(buf[:n], from, to, oob)
		}
		if err != nil && bad == nil {
			bad = err
		}
	})
	if bad != nil {
		t.Fatal(bad)
	}
	if allocs != 0 {
		t.Errorf("%v allocations per datagram read and answered, want 0", allocs)
	}
}

// TestShedOldRequests: requests that waited in the socket longer than
// kdc.request_max_age behind a stalled handler are dropped unanswered and
// counted as shed; younger ones, or any with the limit off, are answered.
// The arrival times are the kernel's; the server's wall clock is moved.
func TestShedOldRequests(t *testing.T) {
	for _, tt := range []struct {
		name     string
		maxAge   time.Duration
		waited   time.Duration
		wantShed bool
	}{
		{"older than the limit", time.Second, 2 * time.Second, true},
		{"younger than the limit", time.Second, 500 * time.Millisecond, false},
		{"no limit", 0, time.Hour, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var offset atomic.Int64
			g := newGateResponder()
			cfg := DefaultConfig()
			cfg.Listen = []string{"127.0.0.1:0"}
			cfg.RequestMaxAge = tt.maxAge
			s := serveResponder(t, g, cfg, func() time.Time { return time.Now().Add(time.Duration(offset.Load())) })
			t.Cleanup(g.releaseAll)
			c, err := net.Dial("udp", s.Addrs()[0].String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			reply := func() {
				t.Helper()
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				if _, err := c.Read(make([]byte, 16)); err != nil {
					t.Fatalf("no reply: %v", err)
				}
			}
			c.Write([]byte{tagASReq})
			first := <-g.entered // the handler holds the first request
			const queued = 5
			for range queued { // one client: one socket of the group, queued in order
				c.Write([]byte{tagASReq})
			}
			offset.Store(int64(tt.waited))
			close(first)
			reply()
			if tt.wantShed {
				waitFor(t, "the queued requests to be shed", func() bool { return s.Stats(false).Total.Shed == queued })
			} else {
				for range queued {
					close(<-g.entered)
					reply()
				}
				if shed := s.Stats(false).Total.Shed; shed != 0 {
					t.Fatalf("%d shed, want 0", shed)
				}
			}
			offset.Store(0) // a fresh request is answered
			c.Write([]byte{tagASReq})
			close(<-g.entered)
			reply()
		})
	}
}

// timestampMessage is a SO_TIMESTAMPNS control message as the kernel
// writes it.
func timestampMessage(sec, nsec int64) []byte {
	b := binary.NativeEndian.AppendUint64(nil, uint64(unix.SizeofCmsghdr+sizeofTimespec))
	b = binary.NativeEndian.AppendUint32(b, unix.SOL_SOCKET)
	b = binary.NativeEndian.AppendUint32(b, unix.SCM_TIMESTAMPNS)
	b = binary.NativeEndian.AppendUint64(b, uint64(sec))
	return binary.NativeEndian.AppendUint64(b, uint64(nsec))
}

func FuzzParseControl(f *testing.F) {
	f.Add(appendPktinfo(nil, netip.MustParseAddr("192.0.2.1"), false))
	f.Add(appendPktinfo(nil, netip.MustParseAddr("2001:db8::1"), true))
	f.Add(append(appendPktinfo(nil, netip.MustParseAddr("192.0.2.1"), false), timestampMessage(1700000000, 5)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		dst, _ := parseControl(b) // must not panic on any input
		if dst.IsValid() && dst.Is4In6() {
			t.Fatalf("destination %s not unmapped", dst)
		}
	})
}

// TestControlRoundTrip: a packet-info message built for sending parses
// back to its address (the received IPv4 form carries it in the addr
// field, the sent one in spec_dst), and a timestamp to its time.
func TestControlRoundTrip(t *testing.T) {
	for _, tt := range []struct {
		addr string
		v6   bool
	}{{"192.0.2.1", false}, {"2001:db8::1", true}} {
		b := appendPktinfo(nil, netip.MustParseAddr(tt.addr), tt.v6)
		if !tt.v6 {
			copy(b[unix.SizeofCmsghdr+8:], b[unix.SizeofCmsghdr+4:unix.SizeofCmsghdr+8])
		}
		b = append(b, timestampMessage(1700000000, 5)...)
		dst, at := parseControl(b)
		if dst.String() != tt.addr || !at.Equal(time.Unix(1700000000, 5)) {
			t.Errorf("%s: parsed %s at %s", tt.addr, dst, at)
		}
	}
	if dst, at := parseControl(timestampMessage(1, 2)[:unix.SizeofCmsghdr+4]); dst.IsValid() || !at.IsZero() {
		t.Errorf("truncated message parsed to %s, %s", dst, at)
	}
}
