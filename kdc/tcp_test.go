package kdc

import (
	"bytes"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// listenBacklog is the accept queue length the kernel gave l (TCP_INFO
// reports a listener's max_ack_backlog as tcpi_sacked).
func listenBacklog(t *testing.T, l net.Listener) int {
	t.Helper()
	rc, err := l.(*net.TCPListener).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var info *unix.TCPInfo
	var gerr error
	if err := rc.Control(func(fd uintptr) { info, gerr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO) }); err != nil || gerr != nil {
		t.Fatal(err, gerr)
	}
	return int(info.Sacked)
}

// TestTCPListenBacklog: the listener's accept queue is kdc.tcp_backlog
// (default 1024, capped by net.core.somaxconn), not MIT's 5 or a
// library's default, so a login storm is queued rather than refused.
func TestTCPListenBacklog(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/net/core/somaxconn")
	if err != nil {
		t.Skip("no somaxconn:", err)
	}
	somaxconn, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	for _, backlog := range []int{DefaultConfig().TCPBacklog, 7} {
		cfg := DefaultConfig()
		cfg.Listen = []string{"127.0.0.1:0"}
		cfg.TCPBacklog = backlog
		s, err := Listen(cfg, nopResponder{}, discardLog())
		if err != nil {
			t.Fatal(err)
		}
		got := listenBacklog(t, s.tcp[0])
		s.close()
		if want := min(backlog, somaxconn); got != want {
			t.Errorf("tcp_backlog %d: accept queue %d, want %d (somaxconn %d)", backlog, got, want, somaxconn)
		}
	}
	if DefaultConfig().TCPBacklog < 128 {
		t.Errorf("default tcp_backlog %d: a login storm would be refused", DefaultConfig().TCPBacklog)
	}
}

// TestReadFrameIntoPooledBuffer: a connection reads a request, a first
// byte read while idle included, into its buffer without allocating; a
// request larger than the buffer gets its own.
func TestReadFrameIntoPooledBuffer(t *testing.T) {
	msg := bytes.Repeat([]byte{0x6a}, 300)
	frame := AppendFrame(nil, msg)
	buf := make([]byte, tcpBufferSize)
	r := bytes.NewReader(nil)
	var bad bool
	allocs := testing.AllocsPerRun(50, func() {
		r.Reset(frame[1:])
		buf[0] = frame[0]
		got, err := readFrame(r, buf[:1], buf, 1<<20)
		bad = bad || err != nil || !bytes.Equal(got, msg) || &got[0] != &buf[0]
	})
	if bad || allocs != 0 {
		t.Errorf("read into the pooled buffer: wrong result %v, %v allocations", bad, allocs)
	}
	big := bytes.Repeat([]byte{1}, tcpBufferSize+1)
	got, err := readFrame(bytes.NewReader(AppendFrame(nil, big)), nil, buf, 1<<20)
	if err != nil || !bytes.Equal(got, big) {
		t.Errorf("larger than the buffer: %v", err)
	}
}
