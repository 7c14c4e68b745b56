package kdc

import (
	"container/list"
	"net"
	"net/netip"
	"sync"
)

// connTable bounds the KDC's TCP connections in total and per source
// address. At the total cap a new connection is admitted by closing the
// least recently active connection that is not handling a request, as MIT
// krb5kdc closes its oldest: refusing the new one instead would let 1,024
// idle connections lock out every TCP client, the health probe included.
// At a source's cap its new connection likewise replaces that source's own
// least recently active idle one: a client opening a connection per request
// (as MIT's do) has, besides those in flight, answered connections whose
// close the server has not yet read, and refusing it for them turned a busy
// but well-behaved client's requests into errors. A source is refused only
// when all of its connections are handling requests; it still never holds
// more than its cap, which is what protects the other sources.
type connTable struct {
	max, perSource int

	mu       sync.Mutex
	open     int
	bySource map[netip.Addr]*sourceConns
	idle     *list.List // of *tcpConn not handling a request, least recently active first
}

// sourceConns are one source address's connections: how many, and the idle
// ones in the order of connTable.idle, so that making room at a source's
// cap costs no scan of the whole table.
type sourceConns struct {
	n    int
	idle *list.List // of *tcpConn
}

// tcpConn is one admitted connection.
type tcpConn struct {
	net.Conn
	src     netip.Addr
	idle    *list.Element // its place in connTable.idle; nil while handling a request
	srcIdle *list.Element // its place in its source's idle list; nil likewise
	gone    bool          // released or evicted: no longer counted
}

func newConnTable(max, perSource int) *connTable {
	return &connTable{max: max, perSource: perSource, bySource: map[netip.Addr]*sourceConns{}, idle: list.New()}
}

// admit counts c from src, idle until it sends a request. It returns nil
// and the reason (a tcpClosed* label) when c must be refused: its source
// has perSource connections all handling a request, or the table is full
// and every connection is. To make room it evicts the source's, or else
// the table's, least recently active idle connection, which it returns for
// the caller to close and count.
func (t *connTable) admit(c net.Conn, src netip.Addr) (tc, evicted *tcpConn, refused string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	sc := t.bySource[src]
	if sc == nil {
		sc = &sourceConns{idle: list.New()}
		t.bySource[src] = sc
	}
	if sc.n >= t.perSource {
		oldest := sc.idle.Front()
		if oldest == nil {
			return nil, nil, tcpClosedSourceLimit
		}
		evicted = oldest.Value.(*tcpConn)
		t.forget(evicted)
	} else if t.open >= t.max {
		oldest := t.idle.Front()
		if oldest == nil {
			if sc.n == 0 {
				delete(t.bySource, src)
			}
			return nil, nil, tcpClosedLimit
		}
		evicted = oldest.Value.(*tcpConn)
		t.forget(evicted)
	}
	tc = &tcpConn{Conn: c, src: src}
	t.markIdle(tc) // (re)creates the source's entry, which an eviction may have removed
	t.open++
	t.bySource[src].n++
	return tc, evicted, ""
}

// markIdle puts tc last in the idle lists.
func (t *connTable) markIdle(tc *tcpConn) {
	sc := t.bySource[tc.src]
	if sc == nil {
		sc = &sourceConns{idle: list.New()}
		t.bySource[tc.src] = sc
	}
	tc.idle = t.idle.PushBack(tc)
	tc.srcIdle = sc.idle.PushBack(tc)
}

// unmarkIdle takes tc out of the idle lists.
func (t *connTable) unmarkIdle(tc *tcpConn) {
	if tc.idle == nil {
		return
	}
	t.idle.Remove(tc.idle)
	t.bySource[tc.src].idle.Remove(tc.srcIdle)
	tc.idle, tc.srcIdle = nil, nil
}

// busy marks tc as handling a request, which makes it not evictable. It
// reports false if tc was evicted meanwhile: its request must be dropped.
func (t *connTable) busy(tc *tcpConn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if tc.gone {
		return false
	}
	t.unmarkIdle(tc)
	return true
}

// done marks tc idle again, as the most recently active connection.
func (t *connTable) done(tc *tcpConn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !tc.gone && tc.idle == nil {
		t.markIdle(tc)
	}
}

// release stops counting tc (closed by its goroutine); releasing an
// evicted connection does nothing.
func (t *connTable) release(tc *tcpConn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.forget(tc)
}

func (t *connTable) forget(tc *tcpConn) {
	if tc.gone {
		return
	}
	tc.gone = true
	t.unmarkIdle(tc)
	t.open--
	sc := t.bySource[tc.src]
	if sc.n--; sc.n == 0 {
		delete(t.bySource, tc.src)
	}
}
