package kdc

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/kdcha/kdcha/kdc/internal/wire"
)

func TestTGSServiceTicket(t *testing.T) {
	k := newTestKDC(t)
	tgt, part := k.tgt(t, flags.Forwardable)
	http := k.db.byName["HTTP/web.example.com@"+testRealm]
	for _, name := range []string{"HTTP/web.example.com", "HTTP/192.0.2.5"} {
		rep, rp := tgsReply(t, k.handle(k.tgsReq(t, tgsReq{tgt: tgt, sessionKey: part.Key, service: name, options: []int{flags.Forwardable}})), part.Key, 8)
		// The reply and the ticket name the alias that was asked for.
		if got := rp.SName.PrincipalNameString(); got != name {
			t.Errorf("reply sname %q, want %q", got, name)
		}
		if got := rep.Ticket.SName.PrincipalNameString(); got != name {
			t.Errorf("ticket sname %q, want %q", got, name)
		}
		etp := decryptTicket(t, rep.Ticket, http)
		if !bytes.Equal(etp.Key.KeyValue, rp.Key.KeyValue) || etp.CName.PrincipalNameString() != "alice" {
			t.Errorf("ticket does not match reply")
		}
		if !flagSet(rp.Flags, flags.Forwardable) || !flagSet(rp.Flags, flags.PreAuthent) || flagSet(rp.Flags, flags.Initial) {
			t.Errorf("flags %x: want FORWARDABLE and PRE-AUTHENT, not INITIAL", rp.Flags.Bytes)
		}
		if !rp.AuthTime.Equal(part.AuthTime) || rp.EndTime.After(part.EndTime) {
			t.Errorf("times: authtime %s end %s (TGT end %s)", rp.AuthTime, rp.EndTime, part.EndTime)
		}
	}
}

func TestTGSSubkey(t *testing.T) {
	k := newTestKDC(t)
	tgt, part := k.tgt(t)
	sub := types.EncryptionKey{KeyType: 17, KeyValue: bytes.Repeat([]byte{7}, 16)}
	reply := k.handle(k.tgsReq(t, tgsReq{tgt: tgt, sessionKey: part.Key, service: "HTTP/web.example.com", subkey: &sub}))
	tgsReply(t, reply, sub, 9)
}

func TestTGSForwarded(t *testing.T) {
	k := newTestKDC(t)
	tgt, part := k.tgt(t, flags.Forwardable)
	rep, fwd := tgsReply(t, k.handle(k.tgsReq(t, tgsReq{tgt: tgt, sessionKey: part.Key, service: "krbtgt/" + testRealm, options: []int{flags.Forwardable, flags.Forwarded}})), part.Key, 8)
	if !flagSet(fwd.Flags, flags.Forwarded) || !flagSet(fwd.Flags, flags.Forwardable) {
		t.Fatalf("forwarded TGT flags %x", fwd.Flags.Bytes)
	}
	// A service ticket obtained with the forwarded TGT carries FORWARDED.
	_, svc := tgsReply(t, k.handle(k.tgsReq(t, tgsReq{tgt: rep.Ticket, sessionKey: fwd.Key, service: "HTTP/web.example.com"})), fwd.Key, 8)
	if !flagSet(svc.Flags, flags.Forwarded) {
		t.Fatalf("service ticket from a forwarded TGT lacks FORWARDED: %x", svc.Flags.Bytes)
	}
	// FORWARDED from a TGT that is not forwardable is refused.
	plainTGT, plainPart := k.tgt(t)
	e := krbErrorCode(t, k.handle(k.tgsReq(t, tgsReq{tgt: plainTGT, sessionKey: plainPart.Key, service: "krbtgt/" + testRealm, options: []int{flags.Forwarded}})))
	if e.ErrorCode != errorcode.KDC_ERR_BADOPTION {
		t.Fatalf("error %d, want BADOPTION", e.ErrorCode)
	}
}

func TestTGSRenew(t *testing.T) {
	k := newTestKDC(t)
	tgt, part := k.tgt(t, flags.Renewable)
	if !part.RenewTill.Equal(t0.Add(7 * 24 * time.Hour)) {
		t.Fatalf("renew-till %s", part.RenewTill)
	}
	k.now = t0.Add(9 * time.Hour)
	_, r := tgsReply(t, k.handle(k.tgsReq(t, tgsReq{tgt: tgt, sessionKey: part.Key, service: "krbtgt/" + testRealm, options: []int{flags.Renew}})), part.Key, 8)
	if !r.StartTime.Equal(k.now) || !r.EndTime.Equal(k.now.Add(10*time.Hour)) || !r.AuthTime.Equal(t0) || !r.RenewTill.Equal(part.RenewTill) {
		t.Errorf("renewed times start %s end %s auth %s till %s", r.StartTime, r.EndTime, r.AuthTime, r.RenewTill)
	}
	if !bytes.Equal(r.Key.KeyValue, part.Key.KeyValue) || flagSet(r.Flags, flags.Initial) {
		t.Errorf("renewal must keep the session key and clear INITIAL")
	}
	// The request's till caps the renewed end (Java refuses a later one).
	_, r = tgsReply(t, k.handle(k.tgsReq(t, tgsReq{tgt: tgt, sessionKey: part.Key, service: "krbtgt/" + testRealm, options: []int{flags.Renew}, till: k.now.Add(time.Hour + 500*time.Millisecond)})), part.Key, 8)
	if !r.EndTime.Equal(k.now.Add(time.Hour)) {
		t.Errorf("renewal with till +1h: end %s, want %s", r.EndTime, k.now.Add(time.Hour))
	}
	// Close to renew-till, the new end is capped at it.
	k.now = part.RenewTill.Add(-time.Hour)
	_, r = tgsReply(t, k.handle(k.tgsReq(t, tgsReq{tgt: tgt, sessionKey: part.Key, service: "krbtgt/" + testRealm, options: []int{flags.Renew}})), part.Key, 8)
	if !r.EndTime.Equal(part.RenewTill) {
		t.Errorf("end %s, want renew-till %s", r.EndTime, part.RenewTill)
	}
	// After renew-till it is over.
	k.now = part.RenewTill.Add(time.Minute)
	if e := krbErrorCode(t, k.handle(k.tgsReq(t, tgsReq{tgt: tgt, sessionKey: part.Key, service: "krbtgt/" + testRealm, options: []int{flags.Renew}}))); e.ErrorCode != errorcode.KRB_AP_ERR_TKT_EXPIRED {
		t.Errorf("renew after renew-till: error %d", e.ErrorCode)
	}
	// A ticket that is not renewable cannot be renewed.
	k.now = t0
	plain, plainPart := k.tgt(t)
	if e := krbErrorCode(t, k.handle(k.tgsReq(t, tgsReq{tgt: plain, sessionKey: plainPart.Key, service: "krbtgt/" + testRealm, options: []int{flags.Renew}}))); e.ErrorCode != errorcode.KDC_ERR_BADOPTION {
		t.Errorf("renew of a non-renewable ticket: error %d", e.ErrorCode)
	}
}

func TestTGSErrors(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(k *testKDC, r *tgsReq)
		code   int32
	}{
		{"tampered body", func(_ *testKDC, r *tgsReq) { r.tamper = true }, errorcode.KRB_AP_ERR_MODIFIED},
		{"unknown service", func(_ *testKDC, r *tgsReq) { r.service = "HTTP/web1.example.com" }, errorcode.KDC_ERR_S_PRINCIPAL_UNKNOWN},
		{"expired TGT", func(k *testKDC, _ *tgsReq) { k.now = t0.Add(11 * time.Hour) }, errorcode.KRB_AP_ERR_TKT_EXPIRED},
		{"authenticator skew", func(k *testKDC, r *tgsReq) {
			// Build with a clock 10 minutes behind the KDC's.
			r.till = t0.Add(time.Hour)
			k.now = t0.Add(-10 * time.Minute)
		}, errorcode.KRB_AP_ERR_SKEW},
		{"no PA-TGS-REQ", func(_ *testKDC, r *tgsReq) { r.noPA = true }, errorcode.KDC_ERR_PADATA_TYPE_NOSUPP},
		{"forged TGT", func(_ *testKDC, r *tgsReq) {
			r.tgt.EncPart.Cipher = append([]byte(nil), r.tgt.EncPart.Cipher...)
			r.tgt.EncPart.Cipher[20] ^= 1
		}, errorcode.KRB_AP_ERR_BAD_INTEGRITY},
		{"short TGT ciphertext", func(_ *testKDC, r *tgsReq) { r.tgt.EncPart.Cipher = []byte{1, 2, 3} }, errorcode.KRB_AP_ERR_BAD_INTEGRITY},
		{"client disabled after TGT", func(k *testKDC, _ *tgsReq) { k.db.byName["alice@"+testRealm].Attributes.Disabled = true }, errorcode.KDC_ERR_CLIENT_REVOKED},
		{"user-to-user", func(_ *testKDC, r *tgsReq) { r.options = []int{flags.EncTktInSkey} }, errorcode.KDC_ERR_BADOPTION},
		{"service ticket as TGT", nil, errorcode.KRB_AP_ERR_NOT_US},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k := newTestKDC(t)
			tgt, part := k.tgt(t)
			r := tgsReq{tgt: tgt, sessionKey: part.Key, service: "HTTP/web.example.com"}
			if c.mutate == nil {
				rep, sp := tgsReply(t, k.handle(k.tgsReq(t, r)), part.Key, 8)
				r.tgt, r.sessionKey = rep.Ticket, sp.Key
			} else {
				c.mutate(k, &r)
			}
			req := k.tgsReq(t, r)
			if c.name == "authenticator skew" {
				k.now = t0
			}
			e := krbErrorCode(t, k.handle(req))
			if e.ErrorCode != c.code {
				t.Fatalf("error %d (%s), want %d", e.ErrorCode, e.EText, c.code)
			}
		})
	}
}

func TestUnknownServiceLogNamesClosest(t *testing.T) {
	k := newTestKDC(t)
	tgt, part := k.tgt(t)
	krbErrorCode(t, k.handle(k.tgsReq(t, tgsReq{tgt: tgt, sessionKey: part.Key, service: "HTTP/10.0.0.9"})))
	line := k.log.String()
	if !strings.Contains(line, "KDC_ERR_S_PRINCIPAL_UNKNOWN") || !strings.Contains(line, "HTTP/10.0.0.9@TEST.REALM") || !strings.Contains(line, "HTTP/web.example.com@TEST.REALM") {
		t.Fatalf("log line should name the request and the closest names:\n%s", line)
	}
}

// TestRawReqBody checks the extraction of the req-body bytes the
// authenticator checksum covers, and its refusal of truncated input.
func TestRawReqBody(t *testing.T) {
	k := newTestKDC(t)
	tgt, part := k.tgt(t)
	req := k.tgsReq(t, tgsReq{tgt: tgt, sessionKey: part.Key, service: "HTTP/web.example.com"})
	var decoded messages.TGSReq
	raw, err := wire.DecodeTGSReq(req, &decoded)
	if err != nil {
		t.Fatal(err)
	}
	var tr messages.TGSReq
	if err := tr.Unmarshal(req); err != nil {
		t.Fatal(err)
	}
	want, _ := tr.ReqBody.Marshal()
	if !bytes.Equal(raw, want) {
		t.Fatalf("raw req-body differs from the body encoding")
	}
	for _, cut := range []int{1, 10, len(req) / 2, len(req) - 1} {
		if _, err := wire.DecodeTGSReq(req[:cut], &decoded); err == nil {
			t.Errorf("truncated to %d bytes: no error", cut)
		}
	}
}

// TestTGTSurvivesKrbtgtRekey: a TGT issued before krbtgt is rekeyed still
// gets service tickets (its kvno opens with the previous key); one two
// rekeys old does not.
func TestTGTSurvivesKrbtgtRekey(t *testing.T) {
	k := newTestKDC(t)
	tgt, part := k.tgt(t)
	tgs := k.db.byName["krbtgt/"+testRealm+"@"+testRealm]
	rekey := func() {
		next := *tgs
		next.PreviousKeys = tgs.Keys
		next.Keys = nil
		for _, key := range tgs.Keys {
			key.KVNO++
			key.Value = bytes.Repeat([]byte{byte(key.KVNO)}, len(key.Value))
			next.Keys = append(next.Keys, key)
		}
		tgs = &next
		k.db.byName[tgs.Name] = tgs
	}
	rekey()
	tgsReply(t, k.handle(k.tgsReq(t, tgsReq{tgt: tgt, sessionKey: part.Key, service: "HTTP/web.example.com"})), part.Key, 8)
	rekey()
	e := krbErrorCode(t, k.handle(k.tgsReq(t, tgsReq{tgt: tgt, sessionKey: part.Key, service: "HTTP/web.example.com", till: k.now.Add(2 * time.Hour)})))
	if e.ErrorCode != errorcode.KRB_AP_ERR_BADKEYVER {
		t.Fatalf("TGT two rekeys old: error %d, want BADKEYVER", e.ErrorCode)
	}
}
