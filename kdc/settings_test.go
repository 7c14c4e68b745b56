package kdc

import (
	"sync"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/iana/flags"

	"github.com/kdcha/kdcha/kdc/db"
)

// settingsDB is a memDB holding replicated realm settings, as db.DB does.
type settingsDB struct {
	*memDB
	mu sync.Mutex
	s  *db.RealmSettings
}

func (d *settingsDB) RealmSettings() (db.RealmSettings, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.s == nil {
		return db.RealmSettings{}, false
	}
	return *d.s, true
}

func (d *settingsDB) set(s db.RealmSettings) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.s = &s
}

// TestRealmSettingsOverrideConfig: the configured lifetimes apply until
// the database holds realm settings; from the next request on, the
// database's apply to AS and TGS replies, whatever the configuration says.
func TestRealmSettingsOverrideConfig(t *testing.T) {
	k := newTestKDC(t)
	sdb := &settingsDB{memDB: k.db}
	k.h = NewHandler(sdb, DefaultConfig().Policy(), WithClock(func() time.Time { return k.now }))

	_, part := k.tgt(t, flags.Renewable)
	if !part.EndTime.Equal(k.now.Add(10*time.Hour)) || !part.RenewTill.Equal(k.now.Add(7*24*time.Hour)) {
		t.Fatalf("without settings: end %s renew till %s, want the configured +10h and +7d", part.EndTime, part.RenewTill)
	}

	sdb.set(db.RealmSettings{MaxLife: 8 * time.Hour, MaxRenewableLife: 24 * time.Hour})
	tgt, part := k.tgt(t, flags.Renewable)
	if !part.EndTime.Equal(k.now.Add(8*time.Hour)) || !part.RenewTill.Equal(k.now.Add(24*time.Hour)) {
		t.Fatalf("with settings: end %s renew till %s, want the realm's +8h and +24h", part.EndTime, part.RenewTill)
	}

	// A TGT issued under the old settings still gets service tickets
	// capped by the new ones.
	sdb.set(db.RealmSettings{MaxLife: 2 * time.Hour})
	_, sp := tgsReply(t, k.handle(k.tgsReq(t, tgsReq{tgt: tgt, sessionKey: part.Key, service: "HTTP/web.example.com"})), part.Key, 8)
	if !sp.EndTime.Equal(k.now.Add(2 * time.Hour)) {
		t.Fatalf("service ticket end %s, want the realm's +2h", sp.EndTime)
	}
	_, part = k.tgt(t, flags.Renewable)
	// Renewing is off: the flag stays for Java's sake, but the ticket can
	// never be extended (computeTimes).
	if !part.EndTime.Equal(k.now.Add(2*time.Hour)) || part.RenewTill.After(part.EndTime) {
		t.Fatalf("max_renewable_life 0: end %s renew till %s, want +2h and no later", part.EndTime, part.RenewTill)
	}
}

// TestRealmSettingsLockout: the realm's lockout applies when the
// configuration disables it, and a realm that disables it wins over a
// configuration that enables it.
func TestRealmSettingsLockout(t *testing.T) {
	bad := db.Key{EType: 18, KVNO: 1, Value: make([]byte, 32)}
	fail := func(k *testKDC, n int) {
		t.Helper()
		for range n {
			k.now = k.now.Add(time.Second)
			if e := krbErrorCode(t, k.handle(k.asReq(t, asReq{client: "alice", preauthKey: &bad}))); e.ErrorCode != errorcode.KDC_ERR_PREAUTH_FAILED {
				t.Fatalf("error %d, want PREAUTH_FAILED", e.ErrorCode)
			}
		}
	}
	for _, tc := range []struct {
		name      string
		config    LockoutPolicy
		realm     db.RealmSettings
		failures  int
		wantLocks int
	}{
		{"realm enables", LockoutPolicy{}, db.RealmSettings{MaxLife: time.Hour, LockoutMaxFailures: 3}, 3, 1},
		{"below the realm's limit", LockoutPolicy{}, db.RealmSettings{MaxLife: time.Hour, LockoutMaxFailures: 3}, 2, 0},
		{"realm disables", LockoutPolicy{MaxFailures: 1}, db.RealmSettings{MaxLife: time.Hour}, 3, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := newTestKDC(t)
			sdb := &settingsDB{memDB: k.db}
			sdb.set(tc.realm)
			locker := &recordingLocker{}
			k.h = NewHandler(sdb, DefaultConfig().Policy(), WithClock(func() time.Time { return k.now }), WithLockout(tc.config, locker))
			fail(k, tc.failures)
			if len(locker.names) != tc.wantLocks {
				t.Fatalf("locks %v, want %d", locker.names, tc.wantLocks)
			}
		})
	}
}

// TestConfigSettings: a configuration's settings are what it states, with
// the lockout window's default filled in.
func TestConfigSettings(t *testing.T) {
	c := DefaultConfig()
	c.MaxLife = 8 * time.Hour
	c.Lockout = LockoutPolicy{MaxFailures: 4, Duration: time.Minute}
	want := db.RealmSettings{MaxLife: 8 * time.Hour, MaxRenewableLife: 7 * 24 * time.Hour, LockoutMaxFailures: 4, LockoutWindow: defaultLockoutWindow, LockoutDuration: time.Minute}
	if got := c.Settings(); got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}
