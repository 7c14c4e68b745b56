package kdc

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/kdcha/kdcha/kdc/db"
)

func TestASPreauthRequired(t *testing.T) {
	k := newTestKDC(t)
	k.now = t0.Add(1234567 * time.Microsecond)
	// The client prefers aes128: ETYPE-INFO2 must follow the client's order.
	e := krbErrorCode(t, k.handle(k.asReq(t, asReq{client: "alice", etypes: []int32{23, 17, 18}})))
	if e.ErrorCode != errorcode.KDC_ERR_PREAUTH_REQUIRED {
		t.Fatalf("error %d, want PREAUTH_REQUIRED", e.ErrorCode)
	}
	if !e.STime.Equal(t0.Add(time.Second)) || e.Susec != 234567 {
		t.Errorf("stime %s susec %d, want the KDC clock %s", e.STime, e.Susec, k.now)
	}
	var md types.MethodData
	if _, err := asn1.Unmarshal(e.EData, &md); err != nil {
		t.Fatalf("e-data is not METHOD-DATA: %v", err)
	}
	if len(md) != 2 || md[0].PADataType != 19 || md[1].PADataType != 2 || len(md[1].PADataValue) != 0 {
		t.Fatalf("METHOD-DATA %+v, want ETYPE-INFO2 then empty ENC-TIMESTAMP", md)
	}
	info, err := md[0].GetETypeInfo2()
	if err != nil {
		t.Fatal(err)
	}
	if len(info) != 1 || info[0].EType != 17 || info[0].Salt != "TEST.REALMalice" {
		t.Fatalf("ETYPE-INFO2 %+v, want one entry {17, TEST.REALMalice}", info)
	}
	if !strings.Contains(k.log.String(), "NEEDED_PREAUTH: alice@TEST.REALM") {
		t.Errorf("log line missing: %s", k.log)
	}
}

func TestASIssue(t *testing.T) {
	k := newTestKDC(t)
	alice, _ := k.db.Lookup("alice@" + testRealm)
	key := alice.Keys[1] // aes128, first in the client's list below
	rep, part := asReply(t, k.handle(k.asReq(t, asReq{client: "alice", etypes: []int32{17, 18}, preauthKey: &key, options: []int{flags.Forwardable}})), key)
	if part.Nonce != 424242 {
		t.Errorf("nonce %d", part.Nonce)
	}
	for _, f := range []int{flags.Initial, flags.PreAuthent, flags.Forwardable} {
		if !flagSet(part.Flags, f) {
			t.Errorf("flag %d not set", f)
		}
	}
	if flagSet(part.Flags, flags.Renewable) || !part.RenewTill.IsZero() {
		t.Errorf("renewable without asking")
	}
	if !part.AuthTime.Equal(t0) || !part.EndTime.Equal(t0.Add(10*time.Hour)) {
		t.Errorf("authtime %s end %s, want %s and +10h (realm max life caps the 24h asked)", part.AuthTime, part.EndTime, t0)
	}
	if part.Key.KeyType != 17 {
		t.Errorf("session key enctype %d, want 17 (client's first choice)", part.Key.KeyType)
	}
	if len(rep.PAData) != 1 || rep.PAData[0].PADataType != 19 {
		t.Errorf("AS-REP padata %+v, want PA-ETYPE-INFO2", rep.PAData)
	}
	tgs, _ := k.db.Lookup("krbtgt/" + testRealm + "@" + testRealm)
	etp := decryptTicket(t, rep.Ticket, tgs)
	if !bytes.Equal(etp.Key.KeyValue, part.Key.KeyValue) || etp.CName.PrincipalNameString() != "alice" || !etp.EndTime.Equal(part.EndTime) {
		t.Errorf("ticket and reply disagree: %+v", etp)
	}
	if rep.Ticket.EncPart.EType != 18 {
		t.Errorf("ticket enctype %d, want the service's strongest (18)", rep.Ticket.EncPart.EType)
	}
}

func TestASNoPreauthPrincipal(t *testing.T) {
	k := newTestKDC(t)
	svc, _ := k.db.Lookup("svc@" + testRealm)
	_, part := asReply(t, k.handle(k.asReq(t, asReq{client: "svc"})), svc.Keys[0])
	if flagSet(part.Flags, flags.PreAuthent) {
		t.Error("PRE-AUTHENT set without preauth")
	}
}

func TestASErrors(t *testing.T) {
	skewed := t0.Add(-6 * time.Minute)
	cases := []struct {
		name   string
		mutate func(k *testKDC)
		req    func(k *testKDC, key *db.Key) asReq
		code   int32
	}{
		{"wrong password", nil, func(k *testKDC, _ *db.Key) asReq {
			bad := db.Key{EType: 18, KVNO: 1, Value: make([]byte, 32)}
			return asReq{client: "alice", preauthKey: &bad}
		}, errorcode.KDC_ERR_PREAUTH_FAILED},
		{"unknown client", nil, func(*testKDC, *db.Key) asReq { return asReq{client: "mallory"} }, errorcode.KDC_ERR_C_PRINCIPAL_UNKNOWN},
		{"clock skew", nil, func(_ *testKDC, key *db.Key) asReq {
			return asReq{client: "alice", preauthKey: key, paTime: &skewed}
		}, errorcode.KRB_AP_ERR_SKEW},
		{"disabled", func(k *testKDC) { k.db.byName["alice@"+testRealm].Attributes.Disabled = true },
			func(_ *testKDC, key *db.Key) asReq { return asReq{client: "alice", preauthKey: key} }, errorcode.KDC_ERR_CLIENT_REVOKED},
		{"locked", func(k *testKDC) { k.db.byName["alice@"+testRealm].Locked = true },
			func(*testKDC, *db.Key) asReq { return asReq{client: "alice"} }, errorcode.KDC_ERR_CLIENT_REVOKED},
		{"wrong realm", nil, func(*testKDC, *db.Key) asReq { return asReq{client: "alice", realm: "OTHER.REALM"} }, errorcode.KDC_ERR_WRONG_REALM},
		{"only weak enctypes", nil, func(*testKDC, *db.Key) asReq { return asReq{client: "alice", etypes: []int32{23, 16, 3}} }, errorcode.KDC_ERR_ETYPE_NOSUPP},
		{"postdated", nil, func(_ *testKDC, key *db.Key) asReq {
			return asReq{client: "alice", preauthKey: key, options: []int{flags.PostDated}}
		}, errorcode.KDC_ERR_BADOPTION},
		{"proxiable not allowed", func(k *testKDC) { k.db.byName["alice@"+testRealm].Attributes.DisallowProxiable = true },
			func(_ *testKDC, key *db.Key) asReq {
				return asReq{client: "alice", preauthKey: key, options: []int{flags.Proxiable}}
			}, errorcode.KDC_ERR_BADOPTION},
		{"end before start", nil, func(k *testKDC, key *db.Key) asReq {
			return asReq{client: "alice", preauthKey: key, till: k.now.Add(-time.Hour)}
		}, errorcode.KDC_ERR_NEVER_VALID},
		{"malformed client name", nil, func(*testKDC, *db.Key) asReq { return asReq{client: "krbtgt@TEST.REALM"} }, errorcode.KDC_ERR_C_PRINCIPAL_UNKNOWN},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k := newTestKDC(t)
			if c.mutate != nil {
				c.mutate(k)
			}
			alice, _ := k.db.Lookup("alice@" + testRealm)
			key := alice.Keys[0]
			e := krbErrorCode(t, k.handle(k.asReq(t, c.req(k, &key))))
			if e.ErrorCode != c.code {
				t.Fatalf("error %d (%s), want %d", e.ErrorCode, e.EText, c.code)
			}
			if e.Realm != testRealm {
				t.Errorf("error realm %q", e.Realm)
			}
			if !strings.Contains(k.log.String(), errorName(c.code)) {
				t.Errorf("log does not name %s: %s", errorName(c.code), k.log)
			}
		})
	}
}

func TestASLifetimes(t *testing.T) {
	k := newTestKDC(t)
	alice := k.db.byName["alice@"+testRealm]
	key := alice.Keys[0]
	_, part := asReply(t, k.handle(k.asReq(t, asReq{client: "alice", preauthKey: &key, till: t0.Add(time.Hour), options: []int{flags.Renewable}, rtime: t0.Add(30 * 24 * time.Hour)})), key)
	if !part.EndTime.Equal(t0.Add(time.Hour)) {
		t.Errorf("end %s, want till (+1h)", part.EndTime)
	}
	if !flagSet(part.Flags, flags.Renewable) || !part.RenewTill.Equal(t0.Add(7*24*time.Hour)) {
		t.Errorf("renew-till %s, want realm max (+7d)", part.RenewTill)
	}
	alice.MaxLife = 2 * time.Hour
	alice.Attributes.DisallowRenewable = true
	_, part = asReply(t, k.handle(k.asReq(t, asReq{client: "alice", preauthKey: &key, options: []int{flags.Renewable}, rtime: t0.Add(time.Hour * 48)})), key)
	if !part.EndTime.Equal(t0.Add(2 * time.Hour)) {
		t.Errorf("end %s, want the principal cap (+2h)", part.EndTime)
	}
	// RENEWABLE was asked: the flag comes back (Java requires it) but the
	// ticket cannot be renewed past its end.
	if !flagSet(part.Flags, flags.Renewable) || !part.RenewTill.Equal(part.EndTime) {
		t.Errorf("principal disallowing renewable: flag %v renew-till %s end %s; want the flag with renew-till = end",
			flagSet(part.Flags, flags.Renewable), part.RenewTill, part.EndTime)
	}
}

func TestResponseTooBigAndJunk(t *testing.T) {
	k := newTestKDC(t)
	alice := k.db.byName["alice@"+testRealm]
	key := alice.Keys[0]
	reply := k.h.Handle(Request{Data: k.asReq(t, asReq{client: "alice", preauthKey: &key}), MaxReplySize: 200})
	if e := krbErrorCode(t, reply); e.ErrorCode != errorcode.KRB_ERR_RESPONSE_TOO_BIG {
		t.Fatalf("error %d, want RESPONSE_TOO_BIG", e.ErrorCode)
	}
	// Junk and undecodable requests are dropped (see TestMalformedRequests).
	for _, junk := range [][]byte{nil, {0x00}, []byte("GET / HTTP/1.0\r\n\r\n"), {0x7e, 0x03, 0x02, 0x01, 0x05},
		{0x6a}, {0x6a, 0x84, 0xff, 0xff, 0xff, 0xff}, {0x6c, 0x03, 0x30, 0x01, 0x00}} {
		if r := k.handle(junk); r != nil {
			t.Errorf("junk % x answered with % x", junk, r)
		}
	}
}

// TestRFC8009 runs the AS and TGS exchanges with aes-sha2 keys (RFC 8009):
// reply key, PA-ETYPE-INFO2 and session keys of enctypes 19 and 20.
func TestRFC8009(t *testing.T) {
	k := newTestKDC(t)
	user := k.db.byName["sha2user@"+testRealm]
	e := krbErrorCode(t, k.handle(k.asReq(t, asReq{client: "sha2user", etypes: []int32{18, 20, 19}})))
	var md types.MethodData
	asn1.Unmarshal(e.EData, &md)
	info, _ := md[0].GetETypeInfo2()
	if len(info) != 1 || info[0].EType != 20 {
		t.Fatalf("ETYPE-INFO2 %+v, want enctype 20 (the first the client lists that the principal holds)", info)
	}
	key := user.Keys[0] // enctype 20
	rep, part := asReply(t, k.handle(k.asReq(t, asReq{client: "sha2user", etypes: []int32{20, 19, 18}, preauthKey: &key})), key)
	if rep.EncPart.EType != 20 {
		t.Fatalf("AS-REP enc-part enctype %d, want 20 (the reply key)", rep.EncPart.EType)
	}
	// krbtgt has aes-sha1 keys only: the TGT session key must be one it holds.
	if part.Key.KeyType != 18 {
		t.Fatalf("TGT session key enctype %d, want 18", part.Key.KeyType)
	}
	for _, want := range []int32{19, 20} {
		srep, sp := tgsReply(t, k.handle(k.tgsReq(t, tgsReq{tgt: rep.Ticket, sessionKey: part.Key, client: "sha2user", service: "HTTP/sha2.example.com", etypes: []int32{want, 18}})), part.Key, 8)
		if sp.Key.KeyType != want || len(sp.Key.KeyValue) != mustKeySize(t, want) {
			t.Fatalf("service session key enctype %d (%d bytes), want %d", sp.Key.KeyType, len(sp.Key.KeyValue), want)
		}
		decryptTicket(t, srep.Ticket, k.db.byName["HTTP/sha2.example.com@"+testRealm])
	}
}
