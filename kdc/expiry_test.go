package kdc

import (
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana/errorcode"

	"github.com/kdcha/kdcha/kdc/db"
)

// TestASExpiry checks the codes MIT's validate_as_request gives expired
// principals, passwords and services, before and after preauthentication,
// and the one exception: an expired password may still get a
// kadmin/changepw ticket, which is how kinit changes it.
func TestASExpiry(t *testing.T) {
	past, future := t0.Add(-time.Minute), t0.Add(time.Hour)
	changepw := db.ChangePasswordPrincipal
	cases := []struct {
		name    string
		expires time.Time // of alice
		pwExp   time.Time // of alice's password
		svcExp  time.Time // of the service
		server  string
		preauth bool
		code    int32 // 0: a ticket
	}{
		{"principal expired", past, time.Time{}, time.Time{}, "", true, errorcode.KDC_ERR_NAME_EXP},
		{"principal expired, no preauth yet", past, time.Time{}, time.Time{}, "", false, errorcode.KDC_ERR_NAME_EXP},
		{"principal not yet expired", future, time.Time{}, time.Time{}, "", true, 0},
		{"password expired", time.Time{}, past, time.Time{}, "", true, errorcode.KDC_ERR_KEY_EXPIRED},
		{"password expired, no preauth yet", time.Time{}, past, time.Time{}, "", false, errorcode.KDC_ERR_KEY_EXPIRED},
		{"password not yet expired", time.Time{}, future, time.Time{}, "", true, 0},
		{"password expired, ticket for kadmin/changepw", time.Time{}, past, time.Time{}, changepw, true, 0},
		{"principal expired, ticket for kadmin/changepw", past, time.Time{}, time.Time{}, changepw, true, errorcode.KDC_ERR_NAME_EXP},
		{"password expired, ticket for another service", time.Time{}, past, time.Time{}, "svc", true, errorcode.KDC_ERR_KEY_EXPIRED},
		{"service expired", time.Time{}, time.Time{}, past, "svc", true, errorcode.KDC_ERR_SERVICE_EXP},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k := newTestKDC(t)
			k.db.add(t, changepw, "", db.Attributes{})
			alice := k.db.byName["alice@"+testRealm]
			alice.Expires, alice.PasswordExpires = c.expires, c.pwExp
			k.db.byName["svc@"+testRealm].Expires = c.svcExp
			req := asReq{client: "alice", server: c.server}
			if c.preauth {
				req.preauthKey = &alice.Keys[0]
			}
			reply := k.handle(k.asReq(t, req))
			if c.code == 0 {
				asReply(t, reply, alice.Keys[0])
				return
			}
			if e := krbErrorCode(t, reply); e.ErrorCode != c.code {
				t.Fatalf("error %d (%s), want %d", e.ErrorCode, e.EText, c.code)
			}
		})
	}
}

// TestTGSServiceExpired checks that an expired service gets no ticket from
// the TGS either.
func TestTGSServiceExpired(t *testing.T) {
	k := newTestKDC(t)
	tgt, part := k.tgt(t)
	k.db.byName["svc@"+testRealm].Expires = t0.Add(-time.Second)
	e := krbErrorCode(t, k.handle(k.tgsReq(t, tgsReq{tgt: tgt, sessionKey: part.Key, service: "svc"})))
	if e.ErrorCode != errorcode.KDC_ERR_SERVICE_EXP {
		t.Fatalf("error %d (%s), want KDC_ERR_SERVICE_EXP", e.ErrorCode, e.EText)
	}
}
