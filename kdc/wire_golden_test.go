package kdc

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/asn1tools"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/patype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/kdcha/kdcha/kdc/db"
)

// TestGoldenRepliesMatchReflectionEncoder holds the hand-written encoder
// (package wire) to the reflection encoder it replaced, on the reply to
// every golden request replayed at its capture time: each reply, and each
// encrypted part inside it once decrypted, must be byte for byte what
// gokrb5's reflection Marshal writes for the values it decodes to. The
// ciphertexts differ from run to run (random confounders and session
// keys), so the comparison is per message, on the decoded values.
func TestGoldenRepliesMatchReflectionEncoder(t *testing.T) {
	m := goldenDB(t)
	tgs, ok := m.Lookup("krbtgt/" + testRealm + "@" + testRealm)
	if !ok {
		t.Fatal("no krbtgt")
	}
	for _, e := range loadGolden(t) {
		t.Run(strings.TrimSuffix(e.File, ".bin"), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(goldenDir, e.File))
			if err != nil {
				t.Fatal(err)
			}
			reply := goldenHandler(t, m, e.Captured).Handle(Request{Data: data, From: netip.MustParseAddrPort("127.0.0.1:1"), Transport: e.Transport})
			switch {
			case len(reply) == 0:
				t.Fatal("no reply")
			case reply[0] == 0x6b:
				var rep messages.ASRep
				if err := rep.Unmarshal(reply); err != nil {
					t.Fatal(err)
				}
				sameAsReflection(t, "AS-REP", reply, rep.Marshal)
				for _, pa := range rep.PAData {
					if pa.PADataType == patype.PA_ETYPE_INFO2 {
						var info types.ETypeInfo2
						sameAsReflectionValue(t, "ETYPE-INFO2", pa.PADataValue, &info, 0)
					}
				}
				var req messages.ASReq
				if err := req.Unmarshal(data); err != nil {
					t.Fatal(err)
				}
				client, _ := m.Lookup(req.ReqBody.CName.PrincipalNameString() + "@" + testRealm)
				key, _ := client.KeyFor(rep.EncPart.EType)
				checkEncPart(t, rep.EncPart, encryptionKey(key), keyusage.AS_REP_ENCPART, &messages.EncKDCRepPart{}, 25)
				checkTicket(t, rep.Ticket, m)
			case reply[0] == 0x6d:
				var rep messages.TGSRep
				if err := rep.Unmarshal(reply); err != nil {
					t.Fatal(err)
				}
				sameAsReflection(t, "TGS-REP", reply, rep.Marshal)
				key, usage := tgsReplyKey(t, data, tgs)
				checkEncPart(t, rep.EncPart, key, usage, &messages.EncKDCRepPart{}, 26)
				checkTicket(t, rep.Ticket, m)
			default:
				var ke messages.KRBError
				if err := ke.Unmarshal(reply); err != nil {
					t.Fatal(err)
				}
				sameAsReflection(t, "KRB-ERROR", reply, ke.Marshal)
				if len(ke.EData) > 0 {
					var md types.MethodData
					sameAsReflectionValue(t, "METHOD-DATA", ke.EData, &md, 0)
				}
			}
		})
	}
}

// sameAsReflection fails unless got is what marshal (a gokrb5 reflection
// Marshal of got's decoded value) writes.
func sameAsReflection(t *testing.T, what string, got []byte, marshal func() ([]byte, error)) {
	t.Helper()
	want, err := marshal()
	if err != nil {
		t.Fatalf("%s: reflection encoder: %v", what, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from the reflection encoding:\n ours       %x\n reflection %x", what, got, want)
	}
}

// sameAsReflectionValue decodes b into v (inside APPLICATION appTag when
// appTag is not 0) and fails unless re-encoding v by reflection gives b.
func sameAsReflectionValue(t *testing.T, what string, b []byte, v any, appTag int) {
	t.Helper()
	inner := b
	if appTag != 0 {
		var raw asn1.RawValue
		if _, err := asn1.Unmarshal(b, &raw); err != nil || raw.Class != asn1.ClassApplication || raw.Tag != appTag {
			t.Fatalf("%s: not APPLICATION %d: %v", what, appTag, err)
		}
		inner = raw.Bytes
	}
	if _, err := asn1.Unmarshal(inner, v); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	sameAsReflection(t, what, b, func() ([]byte, error) {
		out, err := asn1.Marshal(reflectValue(v))
		if appTag != 0 {
			out = asn1tools.AddASNAppTag(out, appTag)
		}
		return out, err
	})
}

// reflectValue dereferences the pointers sameAsReflectionValue decodes
// into, since the reflection encoder marshals values.
func reflectValue(v any) any {
	switch p := v.(type) {
	case *messages.EncKDCRepPart:
		return *p
	case *messages.EncTicketPart:
		return *p
	case *types.ETypeInfo2:
		return *p
	case *types.MethodData:
		return *p
	}
	panic("reflectValue: add the type")
}

func checkEncPart(t *testing.T, ed types.EncryptedData, key types.EncryptionKey, usage uint32, v any, appTag int) {
	t.Helper()
	plain, err := crypto.DecryptEncPart(ed, key, usage)
	if err != nil {
		t.Fatalf("enc-part does not decrypt: %v", err)
	}
	sameAsReflectionValue(t, "enc-part", plain, v, appTag)
}

// checkTicket opens a ticket with its server's key and compares its
// EncTicketPart with the reflection encoding.
func checkTicket(t *testing.T, tkt messages.Ticket, m *memDB) {
	t.Helper()
	server, ok := m.Lookup(tkt.SName.PrincipalNameString() + "@" + tkt.Realm)
	if !ok {
		t.Fatalf("ticket for unknown %s", tkt.SName.PrincipalNameString())
	}
	key, _ := server.KeyFor(tkt.EncPart.EType)
	checkEncPart(t, tkt.EncPart, encryptionKey(key), keyusage.KDC_REP_TICKET, &messages.EncTicketPart{}, 3)
}

// tgsReplyKey is the key and usage a TGS-REP to req is encrypted in: the
// authenticator's subkey if it has one, else the TGT's session key.
func tgsReplyKey(t *testing.T, req []byte, krbtgt *db.Principal) (types.EncryptionKey, uint32) {
	t.Helper()
	var r messages.TGSReq
	if err := r.Unmarshal(req); err != nil {
		t.Fatal(err)
	}
	pa, ok := findPAData(r.PAData, patype.PA_TGS_REQ)
	if !ok {
		t.Fatal("no PA-TGS-REQ")
	}
	var ap messages.APReq
	if err := ap.Unmarshal(pa.PADataValue); err != nil {
		t.Fatal(err)
	}
	hdr, terr := OpenTicket(krbtgt, ap.Ticket)
	if terr != nil {
		t.Fatal(terr)
	}
	plain, err := crypto.DecryptEncPart(ap.EncryptedAuthenticator, hdr.Key, keyusage.TGS_REQ_PA_TGS_REQ_AP_REQ_AUTHENTICATOR)
	if err != nil {
		t.Fatal(err)
	}
	var auth types.Authenticator
	if err := auth.Unmarshal(plain); err != nil {
		t.Fatal(err)
	}
	if auth.SubKey.KeyType != 0 {
		return auth.SubKey, keyusage.TGS_REP_ENCPART_AUTHENTICATOR_SUB_KEY
	}
	return hdr.Key, keyusage.TGS_REP_ENCPART_SESSION_KEY
}
