package kdc

import (
	"crypto/sha256"
	"sync"
	"time"
)

// lookaside remembers recent replies by the exact bytes of their request,
// as MIT's lookaside cache does. A client that retransmits over UDP (MIT
// after 1 s, Java after its kdc_timeout) gets the same reply again instead
// of a second ticket, and a retransmitted failed preauthentication is not
// counted twice towards lockout.
type lookaside struct {
	ttl      time.Duration
	maxBytes int

	mu    sync.Mutex
	byKey map[[32]byte]*cachedReply
	order [][32]byte // insertion order, oldest first, for expiry and eviction
	bytes int
}

type cachedReply struct {
	reply []byte
	at    time.Time
}

// Lookaside defaults: MIT keeps replies 2 minutes and caps the cache at
// 10 MiB.
const (
	lookasideTTL      = 2 * time.Minute
	lookasideMaxBytes = 10 << 20
)

func newLookaside(ttl time.Duration, maxBytes int) *lookaside {
	return &lookaside{ttl: ttl, maxBytes: maxBytes, byKey: map[[32]byte]*cachedReply{}}
}

func (l *lookaside) get(key [32]byte, now time.Time) ([]byte, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.byKey[key]
	if !ok || now.Sub(c.at) > l.ttl {
		return nil, false
	}
	return c.reply, true
}

func (l *lookaside) put(key [32]byte, reply []byte, now time.Time) {
	if len(reply) > l.maxBytes {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.byKey[key]; ok {
		return
	}
	l.byKey[key] = &cachedReply{reply: reply, at: now}
	l.order = append(l.order, key)
	l.bytes += len(reply)
	// Drop expired entries, then the oldest until the cache fits.
	for len(l.order) > 0 {
		oldest := l.byKey[l.order[0]]
		if now.Sub(oldest.at) <= l.ttl && l.bytes <= l.maxBytes {
			break
		}
		l.bytes -= len(oldest.reply)
		delete(l.byKey, l.order[0])
		l.order = l.order[1:]
	}
}

func requestKey(req []byte) [32]byte { return sha256.Sum256(req) }
