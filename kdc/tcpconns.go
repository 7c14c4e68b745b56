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
	bySource map[netip.Addr]int
	idle     *list.List // of *tcpConn not handling a request, least recently active first
}

// tcpConn is one admitted connection.
type tcpConn struct {
	net.Conn
	src  netip.Addr
	idle *list.Element // its place in connTable.idle; nil while handling a request
	gone bool          // released or evicted: no longer counted
}

func newConnTable(max, perSource int) *connTable {
	return &connTable{max: max, perSource: perSource, bySource: map[netip.Addr]int{}, idle: list.New()}
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
	if t.bySource[src] >= t.perSource {
		// A scan of the idle list, only at a source's cap: bounded by
		// the table's size and cheaper than an accept.
		for e := t.idle.Front(); e != nil && evicted == nil; e = e.Next() {
			if old := e.Value.(*tcpConn); old.src == src {
				evicted = old
			}
		}
		if evicted == nil {
			return nil, nil, tcpClosedSourceLimit
		}
		t.forget(evicted)
	} else if t.open >= t.max {
		oldest := t.idle.Front()
		if oldest == nil {
			return nil, nil, tcpClosedLimit
		}
		evicted = oldest.Value.(*tcpConn)
		t.forget(evicted)
	}
	tc = &tcpConn{Conn: c, src: src}
	tc.idle = t.idle.PushBack(tc)
	t.open++
	t.bySource[src]++
	return tc, evicted, ""
}

// busy marks tc as handling a request, which makes it not evictable. It
// reports false if tc was evicted meanwhile: its request must be dropped.
func (t *connTable) busy(tc *tcpConn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if tc.gone {
		return false
	}
	t.idle.Remove(tc.idle)
	tc.idle = nil
	return true
}

// done marks tc idle again, as the most recently active connection.
func (t *connTable) done(tc *tcpConn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !tc.gone && tc.idle == nil {
		tc.idle = t.idle.PushBack(tc)
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
	if tc.idle != nil {
		t.idle.Remove(tc.idle)
		tc.idle = nil
	}
	t.open--
	if t.bySource[tc.src]--; t.bySource[tc.src] == 0 {
		delete(t.bySource, tc.src)
	}
}
