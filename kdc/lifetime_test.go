package kdc

import (
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
)

func TestComputeTimes(t *testing.T) {
	h := time.Hour
	epoch := time.Unix(0, 0).UTC()
	parent := &ticketTimes{end: t0.Add(5 * h), renewTill: t0.Add(48 * h)}
	cases := []struct {
		name      string
		req       lifetimeRequest
		end       time.Duration
		renewTill time.Duration // 0: not renewable
		err       int32
	}{
		{"till caps", lifetimeRequest{till: t0.Add(2 * h), maxLife: 10 * h}, 2 * h, 0, 0},
		{"max life caps", lifetimeRequest{till: t0.Add(20 * h), maxLife: 10 * h}, 10 * h, 0, 0},
		{"epoch till is infinite", lifetimeRequest{till: epoch, maxLife: 10 * h}, 10 * h, 0, 0},
		{"till in the past", lifetimeRequest{till: t0.Add(-h), maxLife: 10 * h}, 0, 0, errorcode.KDC_ERR_NEVER_VALID},
		{"renewable capped by realm", lifetimeRequest{till: epoch, rtime: t0.Add(1000 * h), renewable: true, maxLife: 10 * h, maxRenew: 168 * h}, 10 * h, 168 * h, 0},
		{"renewable rtime infinite", lifetimeRequest{till: epoch, rtime: epoch, renewable: true, maxLife: 10 * h, maxRenew: 168 * h}, 10 * h, 168 * h, 0},
		{"renew-till before the end time is kept (Java refuses one past rtime)", lifetimeRequest{till: epoch, rtime: t0.Add(h), renewable: true, maxLife: 10 * h, maxRenew: 168 * h}, 10 * h, h, 0},
		{"renewable-ok turns long till into renewable", lifetimeRequest{till: t0.Add(100 * h), renewableOK: true, maxLife: 10 * h, maxRenew: 168 * h}, 10 * h, 100 * h, 0},
		{"renewable-ok with short till stays plain", lifetimeRequest{till: t0.Add(2 * h), renewableOK: true, maxLife: 10 * h, maxRenew: 168 * h}, 2 * h, 0, 0},
		// RENEWABLE asked but forbidden: the flag comes back (Java demands
		// it) with a renew-till that cannot outlive the ticket.
		{"principal forbids renewable", lifetimeRequest{till: epoch, renewable: true, rtime: epoch, noRenew: true, maxLife: 10 * h, maxRenew: 168 * h}, 10 * h, 10 * h, 0},
		{"principal forbids renewable, short rtime", lifetimeRequest{till: epoch, renewable: true, rtime: t0.Add(2 * h), noRenew: true, maxLife: 10 * h, maxRenew: 168 * h}, 10 * h, 2 * h, 0},
		{"realm max renewable 0", lifetimeRequest{till: epoch, renewable: true, rtime: epoch, maxLife: 10 * h}, 10 * h, 10 * h, 0},
		{"renewable-ok when forbidden stays plain", lifetimeRequest{till: t0.Add(100 * h), renewableOK: true, noRenew: true, maxLife: 10 * h, maxRenew: 168 * h}, 10 * h, 0, 0},
		{"parent caps end and renew", lifetimeRequest{till: epoch, renewable: true, rtime: epoch, maxLife: 10 * h, maxRenew: 168 * h, parent: parent, parentRenews: true}, 5 * h, 48 * h, 0},
		{"non-renewable parent", lifetimeRequest{till: epoch, renewable: true, rtime: epoch, maxLife: 10 * h, maxRenew: 168 * h, parent: parent}, 5 * h, 5 * h, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.req.now = t0.Add(300 * time.Millisecond)
			got, kerr := computeTimes(c.req)
			if c.err != 0 {
				if kerr == nil || kerr.code != c.err {
					t.Fatalf("error %v, want code %d", kerr, c.err)
				}
				return
			}
			if kerr != nil {
				t.Fatal(kerr)
			}
			if !got.start.Equal(t0) {
				t.Errorf("start %s, want %s (truncated to the second)", got.start, t0)
			}
			if !got.end.Equal(t0.Add(c.end)) {
				t.Errorf("end +%s, want +%s", got.end.Sub(t0), c.end)
			}
			if got.renewable != (c.renewTill != 0) {
				t.Fatalf("renewable %v, want %v", got.renewable, c.renewTill != 0)
			}
			if c.renewTill != 0 && !got.renewTill.Equal(t0.Add(c.renewTill)) {
				t.Errorf("renew-till +%s, want +%s", got.renewTill.Sub(t0), c.renewTill)
			}
		})
	}
}

func TestMinLife(t *testing.T) {
	if got := minLife(10*time.Hour, 0, 2*time.Hour, 0); got != 2*time.Hour {
		t.Errorf("got %s", got)
	}
	if got := minLife(10*time.Hour, 0, 20*time.Hour); got != 10*time.Hour {
		t.Errorf("a principal cap above the realm limit must not raise it: %s", got)
	}
}

func TestSelectKeys(t *testing.T) {
	m := newMemDB(t)
	alice, _ := m.Lookup("alice@" + testRealm)
	for _, c := range []struct {
		client []int32
		want   int32
		ok     bool
	}{
		{[]int32{18, 17}, 18, true},
		{[]int32{17, 18}, 17, true},
		{[]int32{23, 3, 17}, 17, true},
		{[]int32{20, 19}, 0, false}, // permitted but alice has no sha2 keys
		{[]int32{23, 16}, 0, false}, // RC4 and 3DES are never used
	} {
		k, ok := selectKey(alice, c.client)
		if ok != c.ok || (ok && k.EType != c.want) {
			t.Errorf("client %v: got %d %v, want %d %v", c.client, k.EType, ok, c.want, c.ok)
		}
	}
}
