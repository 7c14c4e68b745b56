package health

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/patype"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// TestKinitProbeAgainstFakeKDC covers the reply handling that a real KDC
// will not produce on demand.
func TestKinitProbeAgainstFakeKDC(t *testing.T) {
	kt := testKeytab(t, "probe", "TEST.REALM", "secret", 2)
	for _, tc := range []struct {
		name     string
		handler  func(t *testing.T, n int, req []byte) []byte // n counts requests from 1
		wantKind FailureKind
		wantCode int32
		wantStep string
	}{
		{"garbage", func(*testing.T, int, []byte) []byte { return []byte("hello") },
			KindBadReply, 0, stepAS},
		{"AS-REP tag but undecodable", func(*testing.T, int, []byte) []byte { return []byte{tagASRep, 3, 1, 2, 3} },
			KindBadReply, 0, stepAS},
		{"empty datagram", func(*testing.T, int, []byte) []byte { return []byte{} },
			KindBadReply, 0, stepAS},
		{"unknown client", func(t *testing.T, _ int, _ []byte) []byte {
			return krbError(t, errorcode.KDC_ERR_C_PRINCIPAL_UNKNOWN, nil)
		}, KindKRBError, errorcode.KDC_ERR_C_PRINCIPAL_UNKNOWN, stepAS},
		{"preauth failed after preauth", func(t *testing.T, n int, _ []byte) []byte {
			if n == 1 {
				return krbError(t, errorcode.KDC_ERR_PREAUTH_REQUIRED, etypeInfo2(t, etypeID.AES256_CTS_HMAC_SHA1_96))
			}
			return krbError(t, errorcode.KDC_ERR_PREAUTH_FAILED, nil)
		}, KindKRBError, errorcode.KDC_ERR_PREAUTH_FAILED, stepASPreauth},
		{"KDC offers only an etype missing from the keytab", func(t *testing.T, _ int, _ []byte) []byte {
			return krbError(t, errorcode.KDC_ERR_PREAUTH_REQUIRED, etypeInfo2(t, etypeID.RC4_HMAC))
		}, KindConfig, 0, stepASPreauth},
		{"bad e-data", func(t *testing.T, _ int, _ []byte) []byte {
			return krbError(t, errorcode.KDC_ERR_PREAUTH_REQUIRED, []byte{0x30, 0x05, 0xff})
		}, KindBadReply, 0, stepASPreauth},
		{"silence", func(*testing.T, int, []byte) []byte { return nil },
			KindTimeout, 0, stepAS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int32
			kdc := startFakeKDC(t, func(req []byte) []byte { return tc.handler(t, int(n.Add(1)), req) })
			r := runProbe(t, KinitOptions{KDC: kdc.addr, Transport: TransportUDP, Principal: "probe@TEST.REALM", Keytab: kt}, 300*time.Millisecond)
			if r.OK() || r.Kind() != tc.wantKind {
				t.Fatalf("result kind %v (%v), want %v", r.Kind(), r.Err, tc.wantKind)
			}
			var ce *CheckError
			if !errors.As(r.Err, &ce) || ce.Step != tc.wantStep {
				t.Errorf("step of %v, want %q", r.Err, tc.wantStep)
			}
			var ke *KRBError
			if gotKRB := errors.As(r.Err, &ke); gotKRB != (tc.wantCode != 0) || (gotKRB && ke.Code != tc.wantCode) {
				t.Errorf("KRB error %+v, want code %d", ke, tc.wantCode)
			}
		})
	}
}

// TestKinitProbeSendsValidPreauth checks what the probe puts on the wire:
// the AS-REQ names the principal and krbtgt, offers the keytab's enctypes,
// and its PA-ENC-TIMESTAMP decrypts with the keytab key to a current time.
func TestKinitProbeSendsValidPreauth(t *testing.T) {
	path := testKeytab(t, "probe/node1", "TEST.REALM", "secret", 7)
	kt, err := keytab.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := kt.GetEncryptionKey(types.PrincipalName{NameString: []string{"probe", "node1"}}, "TEST.REALM", 0, etypeID.AES256_CTS_HMAC_SHA1_96)
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	checked := make(chan error, 1)
	kdc := startFakeKDC(t, func(b []byte) []byte {
		var req messages.ASReq
		if err := req.Unmarshal(b); err != nil {
			report(checked, err)
			return nil
		}
		if n.Add(1) == 1 {
			return krbError(t, errorcode.KDC_ERR_PREAUTH_REQUIRED, etypeInfo2(t, etypeID.AES256_CTS_HMAC_SHA1_96))
		}
		report(checked, checkPreauth(req, key))
		return krbError(t, errorcode.KDC_ERR_PREAUTH_FAILED, nil)
	})
	runProbe(t, KinitOptions{KDC: kdc.addr, Transport: TransportUDP, Principal: "probe/node1@TEST.REALM", Keytab: path}, time.Second)
	select {
	case err := <-checked:
		if err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatal("the fake KDC never saw a second AS-REQ")
	}
}

// report keeps the first outcome; the fake KDC must never block on it.
func report(ch chan<- error, err error) {
	select {
	case ch <- err:
	default:
	}
}

func checkPreauth(req messages.ASReq, key types.EncryptionKey) error {
	body := req.ReqBody
	if strings.Join(body.CName.NameString, "/") != "probe/node1" || body.Realm != "TEST.REALM" ||
		strings.Join(body.SName.NameString, "/") != "krbtgt/TEST.REALM" {
		return errors.New("AS-REQ names " + body.CName.PrincipalNameString() + " for " + body.SName.PrincipalNameString())
	}
	if len(body.EType) != 1 || body.EType[0] != etypeID.AES256_CTS_HMAC_SHA1_96 {
		return errors.New("AS-REQ etypes are not the keytab's")
	}
	for _, pa := range req.PAData {
		if pa.PADataType != patype.PA_ENC_TIMESTAMP {
			continue
		}
		var ed types.EncryptedData
		if err := ed.Unmarshal(pa.PADataValue); err != nil {
			return err
		}
		if ed.KVNO != 7 {
			return errors.New("PA-ENC-TIMESTAMP does not carry the keytab kvno")
		}
		plain, err := crypto.DecryptEncPart(ed, key, keyusage.AS_REQ_PA_ENC_TIMESTAMP)
		if err != nil {
			return err
		}
		var ts types.PAEncTSEnc
		if err := ts.Unmarshal(plain); err != nil {
			return err
		}
		if d := time.Since(ts.PATimestamp); d < -time.Minute || d > time.Minute {
			return errors.New("PA-ENC-TIMESTAMP is not current")
		}
		return nil
	}
	return errors.New("no PA-ENC-TIMESTAMP in the second AS-REQ")
}

func TestKinitProbeKeytabProblems(t *testing.T) {
	kdc := startFakeKDC(t, func([]byte) []byte { return nil })
	other := testKeytab(t, "someone-else", "TEST.REALM", "secret", 1)
	for _, tc := range []struct {
		name, keytab, want string
	}{
		{"missing keytab", "/nonexistent/probe.keytab", "config: keytab: load /nonexistent/probe.keytab"},
		{"keytab without the principal", other, "has no supported key for probe@TEST.REALM"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runProbe(t, KinitOptions{KDC: kdc.addr, Transport: TransportUDP, Principal: "probe@TEST.REALM", Keytab: tc.keytab}, time.Second)
			if r.Kind() != KindConfig || !strings.Contains(r.Err.Error(), tc.want) {
				t.Fatalf("got %v (%v), want config failure containing %q", r.Kind(), r.Err, tc.want)
			}
		})
	}
}

func TestNewKinitProbeRejects(t *testing.T) {
	ok := KinitOptions{KDC: "127.0.0.1:88", Transport: TransportUDP, Principal: "p@R", Keytab: "/k"}
	for _, tc := range []struct {
		name   string
		modify func(*KinitOptions)
	}{
		{"no KDC", func(o *KinitOptions) { o.KDC = "" }},
		{"bad transport", func(o *KinitOptions) { o.Transport = "sctp" }},
		{"no realm", func(o *KinitOptions) { o.Principal = "p" }},
		{"empty component", func(o *KinitOptions) { o.Principal = "a//b@R" }},
		{"no keytab", func(o *KinitOptions) { o.Keytab = "" }},
		{"service with realm", func(o *KinitOptions) { o.Service = "host/x@OTHER" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := ok
			tc.modify(&o)
			if _, err := NewKinitProbe(o); err == nil {
				t.Errorf("NewKinitProbe(%+v) accepted", o)
			}
		})
	}
	if _, err := NewKinitProbe(ok); err != nil {
		t.Errorf("valid options rejected: %v", err)
	}
}

// TestKinitProbeVerifiesASRep has a fake KDC forge AS-REPs under the right
// client key but with one field wrong: only the faithful one may pass.
func TestKinitProbeVerifiesASRep(t *testing.T) {
	path := testKeytab(t, "probe", "TEST.REALM", "secret", 3)
	kt, err := keytab.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := kt.GetEncryptionKey(types.PrincipalName{NameString: []string{"probe"}}, "TEST.REALM", 0, etypeID.AES256_CTS_HMAC_SHA1_96)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		forge    func(rep *messages.ASRep, enc *messages.EncKDCRepPart)
		kvno     int
		wantKind FailureKind
		wantMsg  string
	}{
		{"faithful", func(*messages.ASRep, *messages.EncKDCRepPart) {}, 3, KindNone, ""},
		{"wrong nonce", func(_ *messages.ASRep, e *messages.EncKDCRepPart) { e.Nonce++ }, 3, KindBadReply, "nonce"},
		{"other client", func(r *messages.ASRep, _ *messages.EncKDCRepPart) { r.CName.NameString = []string{"mallory"} }, 3, KindBadReply, "AS-REP is for mallory@TEST.REALM"},
		{"other server", func(_ *messages.ASRep, e *messages.EncKDCRepPart) { e.SName.NameString = []string{"krbtgt", "EVIL"} }, 3, KindBadReply, "server is krbtgt/EVIL"},
		{"newer kvno than the keytab", func(*messages.ASRep, *messages.EncKDCRepPart) {}, 4, KindConfig, "stale keytab?"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kdc := startFakeKDC(t, func(b []byte) []byte {
				var req messages.ASReq
				if err := req.Unmarshal(b); err != nil {
					t.Errorf("fake KDC: %v", err)
					return nil
				}
				return forgeASRep(t, req, key, tc.kvno, tc.forge)
			})
			r := runProbe(t, KinitOptions{KDC: kdc.addr, Transport: TransportUDP, Principal: "probe@TEST.REALM", Keytab: path}, time.Second)
			if r.Kind() != tc.wantKind || (tc.wantMsg != "" && !strings.Contains(r.Err.Error(), tc.wantMsg)) {
				t.Fatalf("got %v (%v), want %v containing %q", r.Kind(), r.Err, tc.wantKind, tc.wantMsg)
			}
		})
	}
}

// forgeASRep answers req with an AS-REP encrypted under key, after forge
// has tampered with it. It runs on the fake KDC's goroutine.
func forgeASRep(t *testing.T, req messages.ASReq, key types.EncryptionKey, kvno int, forge func(*messages.ASRep, *messages.EncKDCRepPart)) []byte {
	now := time.Now().UTC()
	enc := messages.EncKDCRepPart{
		Key:      types.EncryptionKey{KeyType: etypeID.AES256_CTS_HMAC_SHA1_96, KeyValue: make([]byte, 32)},
		LastReqs: []messages.LastReq{{LRType: 0, LRValue: now}},
		Nonce:    req.ReqBody.Nonce,
		Flags:    types.NewKrbFlags(),
		AuthTime: now, EndTime: now.Add(time.Hour),
		SRealm: req.ReqBody.Realm, SName: req.ReqBody.SName,
	}
	rep := messages.ASRep{KDCRepFields: messages.KDCRepFields{
		PVNO: 5, MsgType: 11, CRealm: req.ReqBody.Realm, CName: req.ReqBody.CName,
		Ticket: messages.Ticket{TktVNO: 5, Realm: req.ReqBody.Realm, SName: req.ReqBody.SName,
			EncPart: types.EncryptedData{EType: etypeID.AES256_CTS_HMAC_SHA1_96, Cipher: make([]byte, 64)}},
	}}
	rep.CName.NameString = append([]string(nil), rep.CName.NameString...)
	enc.SName.NameString = append([]string(nil), enc.SName.NameString...)
	forge(&rep, &enc)
	plain, err := enc.Marshal()
	if err != nil {
		t.Errorf("fake KDC: %v", err)
		return nil
	}
	if rep.EncPart, err = crypto.GetEncryptedData(plain, key, keyusage.AS_REP_ENCPART, kvno); err != nil {
		t.Errorf("fake KDC: %v", err)
		return nil
	}
	b, err := rep.Marshal()
	if err != nil {
		t.Errorf("fake KDC: %v", err)
	}
	return b
}
