package kpasswd

import (
	"sync"
	"time"
)

// maxReplayEntries bounds the replay cache: at most this many
// authenticators seen within one clock-skew window are remembered; beyond
// it, requests are refused rather than accepted unchecked.
const maxReplayEntries = 65536

// replayCache remembers the authenticators accepted within the skew window
// (RFC 4120 3.2.3), with the reply sent, so that a UDP retransmission of
// the same request gets the same reply while any other reuse of an
// authenticator is refused.
type replayCache struct {
	mu      sync.Mutex
	max     int
	entries map[[32]byte]*replayEntry
}

type replayEntry struct {
	until   time.Time
	request [32]byte // hash of the whole request
	reply   []byte   // nil until the first copy is answered
}

type replayStatus int

const (
	replayNew        replayStatus = iota // first use: go ahead
	replayRetransmit                     // same request again: resend the reply
	replayRefused                        // authenticator reused in another request
	replayFull                           // cache full of live entries
)

func newReplayCache(max int) *replayCache {
	return &replayCache{max: max, entries: make(map[[32]byte]*replayEntry)}
}

// check records authenticator key (valid until until) for request hash req.
func (c *replayCache) check(key, req [32]byte, until, now time.Time) ([]byte, replayStatus) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok && now.Before(e.until) {
		if e.request == req {
			return e.reply, replayRetransmit
		}
		return nil, replayRefused
	}
	if len(c.entries) >= c.max {
		for k, e := range c.entries {
			if !now.Before(e.until) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= c.max {
			return nil, replayFull
		}
	}
	c.entries[key] = &replayEntry{until: until, request: req}
	return nil, replayNew
}

// done stores the reply sent for the request that first used key.
func (c *replayCache) done(key [32]byte, reply []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok {
		e.reply = reply
	}
}
