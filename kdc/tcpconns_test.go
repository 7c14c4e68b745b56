package kdc

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kdcha/kdcha/kdc/db"
)

// TestConnTable checks the admission rules: least recently active idle
// connection evicted at the cap, busy ones never, per-source cap (the
// source's own idle connection replaced, refusal when all of its are busy),
// refusal only when every connection is busy.
// TestConnTableOnePerSource: with a cap of one, a source's new connection
// replaces its idle one (its entry goes and comes back), and is refused
// while that one is busy, whatever the other sources hold.
func TestConnTableOnePerSource(t *testing.T) {
	tbl := newConnTable(100, 1)
	src := netip.MustParseAddr("192.0.2.1")
	for i := range 50 {
		tbl.admit(nil, netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}))
	}
	a, _, _ := tbl.admit(nil, src)
	b, evicted, refused := tbl.admit(nil, src)
	if refused != "" || evicted != a {
		t.Fatalf("second connection: evicted %v (refused %q), want the source's idle one", evicted, refused)
	}
	tbl.busy(b)
	if _, evicted, refused := tbl.admit(nil, src); refused != tcpClosedSourceLimit || evicted != nil {
		t.Fatalf("with the source's one connection busy: evicted %v, refused %q, want %q and no eviction", evicted, refused, tcpClosedSourceLimit)
	}
	tbl.release(b)
	if _, ok := tbl.bySource[src]; ok || tbl.open != 50 {
		t.Fatalf("after release: source entry kept %v, open %d, want gone and 50", ok, tbl.open)
	}
}

func TestConnTable(t *testing.T) {
	tbl := newConnTable(3, 2)
	src1, src2, src3 := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.3")
	admit := func(src netip.Addr) (*tcpConn, *tcpConn, string) {
		t.Helper()
		return tbl.admit(nil, src)
	}
	a, _, _ := admit(src1)
	b, _, _ := admit(src2)
	a2, _, refused := admit(src1)
	if refused != "" {
		t.Fatalf("second connection from a source refused: %s", refused)
	}
	tbl.busy(a)
	tbl.busy(a2)
	if _, _, refused := admit(src1); refused != tcpClosedSourceLimit {
		t.Fatalf("third connection from a source with both busy: %q, want %q", refused, tcpClosedSourceLimit)
	}
	tbl.done(a2)
	tbl.done(a) // idle, least recently active first: b, a2, a
	if _, evicted, refused := admit(src1); refused != "" || evicted != a2 {
		t.Fatalf("third connection from a source with idle ones: evicted %v (refused %q), want its least recently active (a2)", evicted, refused)
	}
	tbl.release(a2)
	// a handles a request, so b is now the least recently active.
	tbl.busy(a)
	tbl.done(a)
	d, evicted, _ := admit(src3)
	if evicted != b {
		t.Fatalf("evicted %v, want the least recently active (b)", evicted)
	}
	if tbl.busy(b) {
		t.Fatal("an evicted connection may still handle a request")
	}
	tbl.release(b) // its goroutine exits: no double count
	// With a and d busy, only the third is evictable; then nothing is.
	tbl.busy(a)
	tbl.busy(d)
	e, evicted, _ := admit(src3)
	if evicted == nil || evicted == a || evicted == d {
		t.Fatalf("evicted %v, want the only idle connection", evicted)
	}
	tbl.busy(e)
	if _, _, refused := admit(src2); refused != tcpClosedLimit {
		t.Fatalf("all busy at the cap: %q, want %q", refused, tcpClosedLimit)
	}
	tbl.release(a)
	if _, _, refused := admit(src2); refused != "" {
		t.Fatalf("after a release: refused %q", refused)
	}
	if tbl.open != 3 {
		t.Fatalf("%d connections counted, want 3", tbl.open)
	}
}

// exchange sends one AS-REQ for alice on c and checks the reply.
func exchange(t *testing.T, k *testKDC, c net.Conn) {
	t.Helper()
	if _, err := c.Write(AppendFrame(nil, k.asReq(t, asReq{client: "alice"}))); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	reply, err := ReadFrame(c, 1<<20)
	if err != nil {
		t.Fatalf("no reply: %v", err)
	}
	if e := krbErrorCode(t, reply); e.ErrorCode != errorcode.KDC_ERR_PREAUTH_REQUIRED {
		t.Fatalf("error %d, want PREAUTH_REQUIRED", e.ErrorCode)
	}
}

// expectClosed checks the server closed c without a reply.
func expectClosed(t *testing.T, c net.Conn, within time.Duration) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(within))
	if n, err := c.Read(make([]byte, 64)); n != 0 || !(errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err)) {
		t.Fatalf("read %d bytes, %v; want the connection closed", n, err)
	}
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && !op.Timeout()
}

func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestTCPEvictsOldestIdleAtCap is the regression test for 1,024 idle
// connections locking out every TCP client: at the cap a new client is
// served and the oldest idle connection is closed instead.
func TestTCPEvictsOldestIdleAtCap(t *testing.T) {
	k := newTestKDC(t)
	reg := prometheus.NewRegistry()
	WithMetrics(reg)(k.h)
	addr := startServerFor(t, k, func(c *Config) { c.TCPMaxConnections = 3 })
	// Three idle connections fill the table, admitted in this order (one
	// accept loop, a FIFO accept queue).
	idle := []net.Conn{dialFrom(t, "127.0.0.1", addr), dialFrom(t, "127.0.0.1", addr), dialFrom(t, "127.0.0.1", addr)}
	late := dialFrom(t, "127.0.0.1", addr)
	exchange(t, k, late)
	expectClosed(t, idle[0], 10*time.Second)
	for _, c := range idle[1:] {
		exchange(t, k, c)
	}
	if got := counterValue(t, reg, "kdcha_kdc_tcp_connections_closed_total", tcpClosedEvicted); got != 1 {
		t.Fatalf("evictions counted: %v, want 1", got)
	}
}

// TestTCPPerSourceCap: one address cannot take every connection: at its
// cap a new connection from it is refused while all of its connections
// handle requests, and replaces its least recently active idle one
// otherwise (a client opening a connection per request is not refused for
// answered connections whose close the server has not read yet); another
// address is admitted meanwhile.
func TestTCPPerSourceCap(t *testing.T) {
	k := newTestKDC(t)
	bdb := &blockingDB{memDB: k.db, entered: make(chan struct{}), release: make(chan struct{})}
	k.h.db = bdb
	reg := prometheus.NewRegistry()
	WithMetrics(reg)(k.h)
	addr := startServerFor(t, k, func(c *Config) { c.TCPMaxConnectionsPerSource = 1 })
	busy := dialFrom(t, "127.0.0.2", addr)
	busy.Write(AppendFrame(nil, k.asReq(t, asReq{client: "alice"})))
	<-bdb.entered
	expectClosed(t, dialFrom(t, "127.0.0.2", addr), 10*time.Second)
	other := dialFrom(t, "127.0.0.3", addr) // admitted; answered once lookups run again
	close(bdb.release)
	exchange(t, k, other)
	busy.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := ReadFrame(busy, 1<<20); err != nil {
		t.Fatalf("the busy connection lost its reply: %v", err)
	}
	// busy is idle now: a new connection from its address replaces it.
	exchange(t, k, dialFrom(t, "127.0.0.2", addr))
	expectClosed(t, busy, 10*time.Second)
	if got := counterValue(t, reg, "kdcha_kdc_tcp_connections_closed_total", tcpClosedSourceLimit); got != 1 {
		t.Fatalf("per-source refusals counted: %v, want 1", got)
	}
	if got := counterValue(t, reg, "kdcha_kdc_tcp_connections_closed_total", tcpClosedEvicted); got != 1 {
		t.Fatalf("evictions counted: %v, want 1", got)
	}
}

// blockingDB holds the first Lookup until released, to keep a request
// in progress.
type blockingDB struct {
	*memDB
	once             sync.Once
	entered, release chan struct{}
}

func (b *blockingDB) Lookup(name string) (*db.Principal, bool) {
	b.once.Do(func() {
		close(b.entered)
		<-b.release
	})
	return b.memDB.Lookup(name)
}

// TestTCPBusyConnectionNotEvicted: a connection handling a request is never
// evicted; with every connection busy, a new one is refused.
func TestTCPBusyConnectionNotEvicted(t *testing.T) {
	k := newTestKDC(t)
	bdb := &blockingDB{memDB: k.db, entered: make(chan struct{}), release: make(chan struct{})}
	k.h.db = bdb
	addr := startServerFor(t, k, func(c *Config) { c.TCPMaxConnections = 1 })
	busy := dialFrom(t, "127.0.0.1", addr)
	busy.Write(AppendFrame(nil, k.asReq(t, asReq{client: "alice"})))
	<-bdb.entered
	expectClosed(t, dialFrom(t, "127.0.0.1", addr), 10*time.Second)
	close(bdb.release)
	busy.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := ReadFrame(busy, 1<<20); err != nil {
		t.Fatalf("the busy connection lost its reply: %v", err)
	}
}

// TestTCPSlowLoris: a connection that sends 3 bytes of a frame is closed
// after tcp_request_timeout, not after the idle timeout; so is one that
// starts a second request and stalls. An idle connection between requests
// is kept until the idle timeout.
func TestTCPSlowLoris(t *testing.T) {
	t.Parallel()
	const requestTimeout = 300 * time.Millisecond
	k := newTestKDC(t)
	addr := startServerFor(t, k, func(c *Config) {
		c.TCPRequestTimeout = requestTimeout
		c.TCPIdleTimeout = time.Hour
	})
	// start is taken before the server can start its clock: before the
	// dial for a first request (the server's deadline runs from the accept,
	// which may come before Dial returns), before the first byte for a
	// later one (its deadline runs from that byte).
	check := func(name string, c net.Conn, start time.Time) {
		c.Write([]byte{0, 0, 1})
		expectClosed(t, c, 30*time.Second)
		if took := time.Since(start); took < requestTimeout {
			t.Fatalf("%s: closed after %s, before the %s timeout", name, took, requestTimeout)
		}
	}
	start := time.Now()
	check("first request", dialFrom(t, "127.0.0.1", addr), start)
	c := dialFrom(t, "127.0.0.1", addr)
	exchange(t, k, c)
	// Idle longer than the request timeout is fine between requests.
	time.Sleep(2 * requestTimeout)
	exchange(t, k, c)
	check("later request", c, time.Now())
}
