package health

import (
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// FuzzASReply feeds arbitrary bytes to the AS reply path (sorting, KRB-ERROR
// and e-data decoding, AS-REP decoding, decryption and checks): whatever a
// KDC sends must become a failure, never a panic.
func FuzzASReply(f *testing.F) {
	f.Add([]byte("hello"))
	f.Add([]byte{tagASRep, 3, 1, 2, 3})
	f.Add(krbError(f, errorcode.KDC_ERR_PREAUTH_REQUIRED, etypeInfo2(f, etypeID.AES256_CTS_HMAC_SHA1_96)))
	f.Add(asRepWithCipher(f, make([]byte, 8)))

	p, err := NewKinitProbe(KinitOptions{KDC: "127.0.0.1:88", Transport: TransportUDP, Principal: "probe@TEST.REALM", Keytab: "/unused"})
	if err != nil {
		f.Fatal(err)
	}
	kt := keytab.New()
	if err := kt.AddEntry("probe", "TEST.REALM", "secret", time.Now(), 1, etypeID.AES256_CTS_HMAC_SHA1_96); err != nil {
		f.Fatal(err)
	}
	keys := keysFor(kt, p.cname, p.realm)
	f.Fuzz(func(t *testing.T, b []byte) {
		req := p.newASReq(keys.etypes(), nil)
		kerr, err := decodeReply(b, tagASRep, stepAS)
		switch {
		case err != nil:
		case kerr != nil:
			_, _ = encTimestamp(kerr.msg.EData, keys)
		default:
			if _, _, err := p.readASRep(b, &req, keys, stepAS); err == nil {
				t.Fatalf("random bytes accepted as a valid AS-REP: %x", b)
			}
		}
	})
}

// asRepWithCipher encodes an AS-REP whose enc-part has the given ciphertext.
func asRepWithCipher(f *testing.F, cipher []byte) []byte {
	rep := messages.ASRep{KDCRepFields: messages.KDCRepFields{
		PVNO: 5, MsgType: 11, CRealm: "TEST.REALM",
		CName:   types.PrincipalName{NameType: 1, NameString: []string{"probe"}},
		Ticket:  messages.Ticket{TktVNO: 5, Realm: "TEST.REALM", SName: types.PrincipalName{NameType: 2, NameString: []string{"krbtgt", "TEST.REALM"}}, EncPart: types.EncryptedData{EType: 18, Cipher: []byte{1}}},
		EncPart: types.EncryptedData{EType: 18, KVNO: 1, Cipher: cipher},
	}}
	b, err := rep.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	return b
}
