package kdc

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana/errorcode"

	"github.com/kdcha/kdcha/kdc/db"
)

type recordingLocker struct {
	mu    sync.Mutex
	names []string
}

func (r *recordingLocker) Lock(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.names = append(r.names, name)
}

func TestLockoutAfterMaxFailures(t *testing.T) {
	k := newTestKDC(t)
	locker := &recordingLocker{}
	WithLockout(LockoutPolicy{MaxFailures: 3, Window: time.Minute}, locker)(k.h)
	bad := db.Key{EType: 18, KVNO: 1, Value: make([]byte, 32)}
	alice := k.db.byName["alice@"+testRealm]
	good := alice.Keys[0]
	fail := func() {
		t.Helper()
		k.now = k.now.Add(time.Second) // a new timestamp: a new request, not a retransmit
		if e := krbErrorCode(t, k.handle(k.asReq(t, asReq{client: "alice", preauthKey: &bad}))); e.ErrorCode != errorcode.KDC_ERR_PREAUTH_FAILED {
			t.Fatalf("error %d", e.ErrorCode)
		}
	}
	fail()
	fail()
	// A success in between resets the count.
	k.now = k.now.Add(time.Second)
	asReply(t, k.handle(k.asReq(t, asReq{client: "alice", preauthKey: &good})), good)
	fail()
	fail()
	if len(locker.names) != 0 {
		t.Fatalf("locked after 2 failures since the last success: %v", locker.names)
	}
	fail()
	if len(locker.names) != 1 || locker.names[0] != "alice@"+testRealm {
		t.Fatalf("locks %v, want alice once", locker.names)
	}
	// Failures older than the window do not count.
	k.now = k.now.Add(2 * time.Minute)
	fail()
	fail()
	k.now = k.now.Add(2 * time.Minute)
	fail()
	if len(locker.names) != 1 {
		t.Fatalf("locks %v: expired failures counted", locker.names)
	}
	// Principals without required preauth are never locked out (as MIT).
	svc := k.db.byName["svc@"+testRealm]
	for range 5 {
		k.now = k.now.Add(time.Second)
		krbErrorCode(t, k.handle(k.asReq(t, asReq{client: "svc", preauthKey: &bad})))
	}
	if len(locker.names) != 1 || svc == nil {
		t.Fatalf("locks %v: a no-preauth principal was locked", locker.names)
	}
}

func TestLookasideReplaysRetransmits(t *testing.T) {
	k := newTestKDC(t)
	locker := &recordingLocker{}
	WithLockout(LockoutPolicy{MaxFailures: 2, Window: time.Minute}, locker)(k.h)
	alice := k.db.byName["alice@"+testRealm]
	good := alice.Keys[0]
	req := k.asReq(t, asReq{client: "alice", preauthKey: &good})
	first := k.handle(req)
	second := k.handle(req)
	if !bytes.Equal(first, second) {
		t.Fatal("a retransmitted request got a different reply (a second ticket)")
	}
	if !strings.Contains(k.log.String(), "REPEAT") {
		t.Fatalf("retransmit not logged:\n%s", k.log)
	}
	// A retransmitted failure is counted once.
	bad := db.Key{EType: 18, KVNO: 1, Value: make([]byte, 32)}
	badReq := k.asReq(t, asReq{client: "alice", preauthKey: &bad})
	for range 5 {
		k.handle(badReq)
	}
	if len(locker.names) != 0 {
		t.Fatalf("retransmits of one failed request locked the principal: %v", locker.names)
	}
	// After the TTL the request is processed again.
	k.now = k.now.Add(lookasideTTL + time.Second)
	if again := k.handle(req); bytes.Equal(again, first) {
		t.Fatal("expired entry replayed instead of a new ticket")
	}
}

func TestLookasideBounded(t *testing.T) {
	l := newLookaside(time.Minute, 100)
	now := t0
	for i := range 10 {
		l.put(requestKey([]byte{byte(i)}), make([]byte, 30), now)
	}
	if l.bytes > 100 || len(l.byKey) != 3 || len(l.order) != 3 {
		t.Fatalf("cache holds %d bytes in %d entries, want at most 100 bytes", l.bytes, len(l.byKey))
	}
	if _, ok := l.get(requestKey([]byte{9}), now); !ok {
		t.Fatal("newest entry evicted")
	}
	if _, ok := l.get(requestKey([]byte{0}), now); ok {
		t.Fatal("oldest entry kept")
	}
	if _, ok := l.get(requestKey([]byte{9}), now.Add(2*time.Minute)); ok {
		t.Fatal("expired entry returned")
	}
}

func TestLockoutExpires(t *testing.T) {
	k := newTestKDC(t)
	WithLockout(LockoutPolicy{MaxFailures: 3, Duration: 30 * time.Minute}, &recordingLocker{})(k.h)
	alice := k.db.byName["alice@"+testRealm]
	alice.Locked, alice.LockedAt = true, t0
	good := alice.Keys[0]
	k.now = t0.Add(29 * time.Minute)
	if e := krbErrorCode(t, k.handle(k.asReq(t, asReq{client: "alice", preauthKey: &good}))); e.ErrorCode != errorcode.KDC_ERR_CLIENT_REVOKED {
		t.Fatalf("locked principal within the lockout duration: error %d", e.ErrorCode)
	}
	k.now = t0.Add(31 * time.Minute)
	asReply(t, k.handle(k.asReq(t, asReq{client: "alice", preauthKey: &good})), good)
	// Without a duration, a lock lasts until an admin clears it.
	k2 := newTestKDC(t)
	WithLockout(LockoutPolicy{MaxFailures: 3}, &recordingLocker{})(k2.h)
	a2 := k2.db.byName["alice@"+testRealm]
	a2.Locked, a2.LockedAt = true, t0
	k2.now = t0.Add(1000 * time.Hour)
	g2 := a2.Keys[0]
	if e := krbErrorCode(t, k2.handle(k2.asReq(t, asReq{client: "alice", preauthKey: &g2}))); e.ErrorCode != errorcode.KDC_ERR_CLIENT_REVOKED {
		t.Fatalf("lock without duration expired: error %d", e.ErrorCode)
	}
}

// TestLockoutEvictionAmortized: when the failure map is full and only a few
// entries have expired, one eviction frees a tenth of it, so that the next
// failures do not each scan 100,000 entries under the lock.
func TestLockoutEvictionAmortized(t *testing.T) {
	c := newFailureCounter(LockoutPolicy{MaxFailures: 5, Window: 10 * time.Minute}, &recordingLocker{})
	for i := range maxTracked {
		at := t0.Add(5 * time.Minute)
		if i < 10 {
			at = t0
		}
		c.failed(&db.Principal{Name: fmt.Sprintf("u%d", i)}, at)
	}
	c.failed(&db.Principal{Name: "new"}, t0.Add(10*time.Minute+time.Second)) // 10 entries expired
	if n := len(c.entries); n > maxTracked*9/10+1 {
		t.Fatalf("%d entries after an eviction, want at most %d: the next failure scans them all again", n, maxTracked*9/10+1)
	}
	if c.entries["new"] == nil {
		t.Fatal("the new failure is not counted")
	}
}
