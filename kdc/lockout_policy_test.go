package kdc

import (
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana/errorcode"

	"github.com/kdcha/kdcha/kdc/db"
)

// policyDB is a memDB whose principals are governed by one password
// policy, as db.DB's are.
type policyDB struct {
	*memDB
	pol db.PasswordPolicy
}

func (p policyDB) PolicyOf(*db.Principal) db.PasswordPolicy { return p.pol }

// TestLockoutFromPolicy checks that a policy's maxfailure and
// lockoutduration apply even when the configuration disables lockout.
func TestLockoutFromPolicy(t *testing.T) {
	k := newTestKDC(t)
	locker := &recordingLocker{}
	pdb := policyDB{k.db, db.PasswordPolicy{Name: "p", MaxFailures: 2, LockoutDuration: time.Minute}}
	k.h = NewHandler(pdb, DefaultConfig().Policy(), WithClock(func() time.Time { return k.now }),
		WithLockout(LockoutPolicy{}, locker))
	bad := db.Key{EType: 18, KVNO: 1, Value: make([]byte, 32)}
	for range 2 {
		k.now = k.now.Add(time.Second)
		if e := krbErrorCode(t, k.handle(k.asReq(t, asReq{client: "alice", preauthKey: &bad}))); e.ErrorCode != errorcode.KDC_ERR_PREAUTH_FAILED {
			t.Fatalf("error %d", e.ErrorCode)
		}
	}
	if len(locker.names) != 1 {
		t.Fatalf("locks %v after the policy's 2 failures", locker.names)
	}
	alice := k.db.byName["alice@"+testRealm]
	alice.Locked, alice.LockedAt = true, k.now
	good := alice.Keys[0]
	k.now = k.now.Add(30 * time.Second)
	if e := krbErrorCode(t, k.handle(k.asReq(t, asReq{client: "alice", preauthKey: &good}))); e.ErrorCode != errorcode.KDC_ERR_CLIENT_REVOKED {
		t.Fatalf("within the policy's lockout duration: error %d", e.ErrorCode)
	}
	k.now = k.now.Add(31 * time.Second)
	asReply(t, k.handle(k.asReq(t, asReq{client: "alice", preauthKey: &good})), good)
}
