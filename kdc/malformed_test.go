package kdc

import (
	"bytes"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/kdcha/kdcha/kdc/internal/der"
)

// TestMalformedRequests feeds hostile or broken requests to the engine:
// each must be dropped (nil) or answered with the given KRB-ERROR, never
// crash and never answered with a ticket.
//
// The rule, MIT krb5kdc's: what does not decode as an AS-REQ or TGS-REQ
// (another tag, truncated, not DER, wrong msg-type or pvno inside) is
// dropped without a reply, because anyone can send it with a spoofed
// source and a KRB-ERROR of ~100 bytes for 1 byte would make the KDC a UDP
// amplifier (and answering errors could loop between two KDCs). A request
// that decodes but asks for something wrong (unknown or malformed names, no
// usable enctype, bad preauthentication, a bad authenticator) is answered
// with the KRB-ERROR that tells the client what to fix, as MIT does; such a
// request already carries most of what the error echoes, so the reply is
// at most a small multiple of its size.
func TestMalformedRequests(t *testing.T) {
	k := newTestKDC(t)
	alice := k.db.byName["alice@"+testRealm]
	key := alice.Keys[0]
	validAS := k.asReq(t, asReq{client: "alice", preauthKey: &key})
	tgt, part := k.tgt(t)

	// mutateAS rebuilds a valid AS-REQ after f changed it.
	mutateAS := func(f func(*messages.ASReq)) []byte {
		var r messages.ASReq
		if err := r.Unmarshal(k.asReq(t, asReq{client: "alice"})); err != nil {
			t.Fatal(err)
		}
		f(&r)
		b, err := r.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	encTS := func(cipher []byte, etype int32) []byte {
		b, err := (&types.EncryptedData{EType: etype, Cipher: cipher}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// tgsWith builds a TGS-REQ whose authenticator f may spoil.
	tgsWith := func(f func(*types.Authenticator), cipher func([]byte) []byte) []byte {
		body := messages.KDCReqBody{KDCOptions: newFlags(), Realm: testRealm, SName: principal("HTTP/web.example.com"),
			Till: k.now.Add(time.Hour), Nonce: 1, EType: []int32{18}}
		bb, _ := body.Marshal()
		et, _ := crypto.GetEtype(part.Key.KeyType)
		ck, _ := et.GetChecksumHash(part.Key.KeyValue, bb, 6)
		auth := types.Authenticator{AVNO: 5, CRealm: testRealm, CName: principal("alice"),
			Cksum: types.Checksum{CksumType: et.GetHashID(), Checksum: ck}, CTime: k.now}
		f(&auth)
		ab, _ := auth.Marshal()
		ed, _ := crypto.GetEncryptedData(ab, part.Key, 7, 0)
		if cipher != nil {
			ed.Cipher = cipher(ed.Cipher)
		}
		ap := messages.APReq{PVNO: 5, MsgType: 14, APOptions: newFlags(), Ticket: tgt, EncryptedAuthenticator: ed}
		apb, _ := ap.Marshal()
		req := messages.TGSReq{KDCReqFields: messages.KDCReqFields{PVNO: 5, MsgType: 12, ReqBody: body,
			PAData: types.PADataSequence{{PADataType: 1, PADataValue: apb}}}}
		b, err := req.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	const drop = int32(-1)
	cases := []struct {
		name string
		req  []byte
		want int32
	}{
		{"empty", nil, drop},
		{"text", []byte("hello, KDC"), drop},
		{"a KRB-ERROR (never answer errors: no loops between KDCs)", k.errorForTest(t), drop},
		{"an AS-REP", k.handle(validAS), drop},
		{"AS tag only (1 byte: the amplification attack)", []byte{0x6a}, drop},
		{"TGS tag only", []byte{0x6c}, drop},
		{"AS-REQ truncated to 10 bytes", validAS[:10], drop},
		{"AS-REQ truncated by half", validAS[:len(validAS)/2], drop},
		{"AS-REQ minus its last byte", validAS[:len(validAS)-1], drop},
		{"4 GiB length", []byte{0x6a, 0x84, 0xff, 0xff, 0xff, 0xff, 0x30}, drop},
		{"64 KiB of garbage after an AS tag", append([]byte{0x6a, 0x83, 0x00, 0xff, 0xff}, bytes.Repeat([]byte{0xa5}, 65535)...), drop},
		{"wrong message type inside", mutateAS(func(r *messages.ASReq) { r.MsgType = 12 }), drop},
		{"pvno 4 (MIT's decoder refuses it)", mutateAS(func(r *messages.ASReq) { r.PVNO = 4 }), drop},
		// gokrb5 reads past the one byte and panics: a remote crash of the
		// KDC process wherever the panic is not recovered.
		{"additional-tickets one byte long in an AS-REQ", withBodyField(t, validAS, []byte{0xab, 0x01, 0x30}), drop},
		{"additional-tickets one byte long in a TGS-REQ", withBodyField(t, tgsWith(func(*types.Authenticator) {}, nil), []byte{0xab, 0x01, 0x00}), drop},
		{"additional-tickets empty", withBodyField(t, validAS, []byte{0xab, 0x00}), drop},
		{"TGS-REQ truncated", func() []byte { b := tgsWith(func(*types.Authenticator) {}, nil); return b[:len(b)-3] }(), drop},
		{"no enctypes", mutateAS(func(r *messages.ASReq) { r.ReqBody.EType = nil }), errorcode.KDC_ERR_ETYPE_NOSUPP},
		{"negative enctypes only", mutateAS(func(r *messages.ASReq) { r.ReqBody.EType = []int32{-128, -1} }), errorcode.KDC_ERR_ETYPE_NOSUPP},
		{"empty client name", mutateAS(func(r *messages.ASReq) { r.ReqBody.CName = types.PrincipalName{} }), errorcode.KDC_ERR_C_PRINCIPAL_UNKNOWN},
		{"client component with a slash", mutateAS(func(r *messages.ASReq) { r.ReqBody.CName.NameString = []string{"alice/x"} }), errorcode.KDC_ERR_C_PRINCIPAL_UNKNOWN},
		{"server component with NUL", mutateAS(func(r *messages.ASReq) { r.ReqBody.SName.NameString = []string{"krbtgt\x00", testRealm} }), errorcode.KDC_ERR_S_PRINCIPAL_UNKNOWN},
		{"PA-ENC-TIMESTAMP not DER", mutateAS(func(r *messages.ASReq) {
			r.PAData = types.PADataSequence{{PADataType: 2, PADataValue: []byte{0x30, 0x80, 0x01}}}
		}), errorcode.KDC_ERR_PREAUTH_FAILED},
		{"PA-ENC-TIMESTAMP of 3 bytes (gokrb5 would panic)", mutateAS(func(r *messages.ASReq) {
			r.PAData = types.PADataSequence{{PADataType: 2, PADataValue: encTS([]byte{1, 2, 3}, 18)}}
		}), errorcode.KDC_ERR_PREAUTH_FAILED},
		{"PA-ENC-TIMESTAMP in RC4", mutateAS(func(r *messages.ASReq) {
			r.PAData = types.PADataSequence{{PADataType: 2, PADataValue: encTS(make([]byte, 64), 23)}}
		}), errorcode.KDC_ERR_PREAUTH_FAILED},
		{"PA-TGS-REQ not an AP-REQ", func() []byte {
			var r messages.TGSReq
			r.Unmarshal(tgsWith(func(*types.Authenticator) {}, nil))
			r.PAData[0].PADataValue = []byte{0x6e, 0x01, 0x00}
			b, _ := r.Marshal()
			return b
		}(), errorcode.KRB_AP_ERR_MSG_TYPE},
		{"authenticator ciphertext of 5 bytes", tgsWith(func(*types.Authenticator) {}, func([]byte) []byte { return []byte{1, 2, 3, 4, 5} }), errorcode.KRB_AP_ERR_BAD_INTEGRITY},
		{"authenticator flipped bit", tgsWith(func(*types.Authenticator) {}, func(c []byte) []byte { c = bytes.Clone(c); c[len(c)-1] ^= 1; return c }), errorcode.KRB_AP_ERR_BAD_INTEGRITY},
		{"no body checksum", tgsWith(func(a *types.Authenticator) { a.Cksum = types.Checksum{} }, nil), errorcode.KRB_AP_ERR_INAPP_CKSUM},
		{"unkeyed body checksum (rsa-md5)", tgsWith(func(a *types.Authenticator) { a.Cksum.CksumType = 7 }, nil), errorcode.KRB_AP_ERR_INAPP_CKSUM},
		{"checksum of another family", tgsWith(func(a *types.Authenticator) { a.Cksum.CksumType = 15 }, nil), errorcode.KRB_AP_ERR_INAPP_CKSUM},
		{"authenticator for another client", tgsWith(func(a *types.Authenticator) { a.CName = principal("mallory") }, nil), errorcode.KRB_AP_ERR_BADMATCH},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reply := k.handle(c.req)
			if c.want == drop {
				if reply != nil {
					t.Fatalf("answered % x, want a drop", reply[:min(16, len(reply))])
				}
				return
			}
			if len(reply) > maxErrorAmplification*len(c.req) {
				t.Errorf("%d-byte reply to a %d-byte request: amplification over %d", len(reply), len(c.req), maxErrorAmplification)
			}
			if e := krbErrorCode(t, reply); e.ErrorCode != c.want {
				t.Fatalf("error %d (%s), want %d", e.ErrorCode, e.EText, c.want)
			}
		})
	}
}

// errorForTest returns the bytes of a KRB-ERROR this KDC sends.
func (k *testKDC) errorForTest(t *testing.T) []byte {
	t.Helper()
	b := k.handle(k.asReq(t, asReq{client: "nobody"}))
	krbErrorCode(t, b)
	return b
}

// maxErrorAmplification bounds reply size over request size for the
// decodable-but-wrong requests TestMalformedRequests sends.
const maxErrorAmplification = 3

// withBodyField returns the AS-REQ or TGS-REQ req with field appended to
// its KDC-REQ-BODY (every enclosing length rewritten): fields gokrb5's
// encoder cannot produce.
func withBodyField(t *testing.T, req, field []byte) []byte {
	t.Helper()
	app, _, err := der.Read(req)
	if err != nil {
		t.Fatal(err)
	}
	seq, _, err := der.Read(app.Content)
	if err != nil {
		t.Fatal(err)
	}
	out, a := der.Open(nil, req[0])
	out, s := der.Open(out, der.TagSequence)
	for rest := seq.Content; len(rest) > 0; {
		var f der.Element
		if f, rest, err = der.Read(rest); err != nil {
			t.Fatal(err)
		}
		var m int
		out, m = der.Open(out, der.Context(f.Tag))
		if f.Tag == 4 {
			body, _, err := der.Read(f.Content)
			if err != nil {
				t.Fatal(err)
			}
			var b int
			out, b = der.Open(out, der.TagSequence)
			out = append(append(out, body.Content...), field...)
			out = der.Close(out, b)
		} else {
			out = append(out, f.Content...)
		}
		out = der.Close(out, m)
	}
	out = der.Close(out, s)
	return der.Close(out, a)
}
