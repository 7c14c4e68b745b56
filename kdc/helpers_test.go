package kdc

import (
	"bytes"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/kdcha/kdcha/kdc/db"
	"github.com/kdcha/kdcha/kdc/internal/kcrypto"
)

var t0 = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// testKDC is a Handler on a memDB with a settable clock and a captured log.
type testKDC struct {
	db  *memDB
	h   *Handler
	now time.Time
	log *bytes.Buffer
}

func newTestKDC(t testing.TB) *testKDC {
	k := &testKDC{db: newMemDB(t), now: t0, log: &bytes.Buffer{}}
	logger := slog.New(slog.NewTextHandler(k.log, nil))
	k.h = NewHandler(k.db, DefaultConfig().Policy(), WithClock(func() time.Time { return k.now }), WithLogger(logger))
	return k
}

func (k *testKDC) handle(b []byte) []byte {
	return k.h.Handle(Request{Data: b, From: netip.MustParseAddrPort("192.0.2.2:50000"), Transport: "udp"})
}

func principal(name string) types.PrincipalName {
	return types.PrincipalName{NameType: nametype.KRB_NT_PRINCIPAL, NameString: strings.Split(name, "/")}
}

// asReq describes an AS-REQ to build.
type asReq struct {
	client     string
	server     string // default: the realm's krbtgt
	realm      string
	etypes     []int32
	options    []int
	till       time.Time
	rtime      time.Time
	preauthKey *db.Key    // PA-ENC-TIMESTAMP encrypted in this key
	paTime     *time.Time // default: the KDC's now
}

func (k *testKDC) asReq(t testing.TB, r asReq) []byte {
	t.Helper()
	if r.realm == "" {
		r.realm = testRealm
	}
	if r.etypes == nil {
		r.etypes = []int32{18, 17}
	}
	if r.till.IsZero() {
		r.till = k.now.Add(24 * time.Hour)
	}
	sname := tgsName(r.realm)
	if r.server != "" {
		sname = principal(r.server)
	}
	req := messages.ASReq{KDCReqFields: messages.KDCReqFields{
		PVNO: 5, MsgType: 10,
		ReqBody: messages.KDCReqBody{
			KDCOptions: newFlags(r.options...),
			CName:      principal(r.client),
			Realm:      r.realm,
			SName:      sname,
			Till:       r.till,
			RTime:      r.rtime,
			Nonce:      424242,
			EType:      r.etypes,
		},
	}}
	if r.preauthKey != nil {
		ts := k.now
		if r.paTime != nil {
			ts = *r.paTime
		}
		b, err := asn1.Marshal(types.PAEncTSEnc{PATimestamp: ts.UTC(), PAUSec: 0})
		if err != nil {
			t.Fatal(err)
		}
		ed, err := crypto.GetEncryptedData(b, encryptionKey(*r.preauthKey), 1, int(r.preauthKey.KVNO))
		if err != nil {
			t.Fatal(err)
		}
		edb, err := ed.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		req.PAData = types.PADataSequence{{PADataType: 2, PADataValue: edb}}
	}
	b, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// krbErrorCode decodes a reply that must be a KRB-ERROR.
func krbErrorCode(t testing.TB, reply []byte) messages.KRBError {
	t.Helper()
	var e messages.KRBError
	if err := e.Unmarshal(reply); err != nil {
		t.Fatalf("reply is not a KRB-ERROR: %v (% x)", err, reply[:min(len(reply), 16)])
	}
	return e
}

// asReply decrypts an AS-REP with the client key.
func asReply(t testing.TB, reply []byte, key db.Key) (messages.ASRep, messages.EncKDCRepPart) {
	t.Helper()
	var rep messages.ASRep
	if err := rep.Unmarshal(reply); err != nil {
		e := krbErrorCode(t, reply)
		t.Fatalf("expected AS-REP, got KRB-ERROR %d %q", e.ErrorCode, e.EText)
	}
	plain, err := crypto.DecryptEncPart(rep.EncPart, encryptionKey(key), 3)
	if err != nil {
		t.Fatalf("decrypt AS-REP enc-part: %v", err)
	}
	if plain[0] != 0x79 {
		t.Fatalf("EncASRepPart tag %#x, want APPLICATION 25 (0x79)", plain[0])
	}
	var part messages.EncKDCRepPart
	if err := part.Unmarshal(plain); err != nil {
		t.Fatal(err)
	}
	return rep, part
}

// tgt runs a full preauthenticated AS exchange for alice.
func (k *testKDC) tgt(t testing.TB, options ...int) (messages.Ticket, messages.EncKDCRepPart) {
	t.Helper()
	alice, _ := k.db.Lookup("alice@" + testRealm)
	key := alice.Keys[0]
	rep, part := asReply(t, k.handle(k.asReq(t, asReq{client: "alice", preauthKey: &key, options: options, rtime: k.now.Add(30 * 24 * time.Hour)})), key)
	return rep.Ticket, part
}

// tgsReq describes a TGS-REQ to build.
type tgsReq struct {
	tgt        messages.Ticket
	sessionKey types.EncryptionKey
	service    string
	options    []int
	etypes     []int32
	subkey     *types.EncryptionKey
	till       time.Time
	tamper     bool // change the body after computing the checksum
	noPA       bool
	client     string // the TGT's client; default alice
}

func (k *testKDC) tgsReq(t testing.TB, r tgsReq) []byte {
	t.Helper()
	if r.etypes == nil {
		r.etypes = []int32{18, 17}
	}
	if r.till.IsZero() {
		r.till = k.now.Add(24 * time.Hour)
	}
	if r.client == "" {
		r.client = "alice"
	}
	body := messages.KDCReqBody{
		KDCOptions: newFlags(r.options...),
		Realm:      testRealm,
		SName:      principal(r.service),
		Till:       r.till,
		Nonce:      777,
		EType:      r.etypes,
	}
	if strings.HasPrefix(r.service, "krbtgt/") {
		body.SName.NameType = nametype.KRB_NT_SRV_INST
	}
	bodyBytes, err := body.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	et, err := crypto.GetEtype(r.sessionKey.KeyType)
	if err != nil {
		t.Fatal(err)
	}
	ck, err := et.GetChecksumHash(r.sessionKey.KeyValue, bodyBytes, 6)
	if err != nil {
		t.Fatal(err)
	}
	auth := types.Authenticator{
		AVNO: 5, CRealm: testRealm, CName: principal(r.client),
		Cksum: types.Checksum{CksumType: et.GetHashID(), Checksum: ck},
		CTime: k.now,
	}
	if r.subkey != nil {
		auth.SubKey = *r.subkey
	}
	authBytes, err := auth.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	encAuth, err := crypto.GetEncryptedData(authBytes, r.sessionKey, 7, 0)
	if err != nil {
		t.Fatal(err)
	}
	ap := messages.APReq{PVNO: 5, MsgType: 14, APOptions: newFlags(), Ticket: r.tgt, EncryptedAuthenticator: encAuth}
	apBytes, err := ap.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	req := messages.TGSReq{KDCReqFields: messages.KDCReqFields{PVNO: 5, MsgType: 12, ReqBody: body}}
	if !r.noPA {
		req.PAData = types.PADataSequence{{PADataType: 1, PADataValue: apBytes}}
	}
	if r.tamper {
		req.ReqBody.Nonce++
	}
	b, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tgsReply decrypts a TGS-REP with the given key and usage.
func tgsReply(t testing.TB, reply []byte, key types.EncryptionKey, usage uint32) (messages.TGSRep, messages.EncKDCRepPart) {
	t.Helper()
	var rep messages.TGSRep
	if err := rep.Unmarshal(reply); err != nil {
		e := krbErrorCode(t, reply)
		t.Fatalf("expected TGS-REP, got KRB-ERROR %d %q", e.ErrorCode, e.EText)
	}
	plain, err := crypto.DecryptEncPart(rep.EncPart, key, usage)
	if err != nil {
		t.Fatalf("decrypt TGS-REP enc-part with usage %d: %v", usage, err)
	}
	if plain[0] != 0x7a {
		t.Fatalf("EncTGSRepPart tag %#x, want APPLICATION 26 (0x7a)", plain[0])
	}
	var part messages.EncKDCRepPart
	if err := part.Unmarshal(plain); err != nil {
		t.Fatal(err)
	}
	return rep, part
}

// decryptTicket opens a ticket with a principal's first key.
func decryptTicket(t testing.TB, tkt messages.Ticket, p *db.Principal) messages.EncTicketPart {
	t.Helper()
	key, ok := p.KeyFor(tkt.EncPart.EType)
	if !ok {
		t.Fatalf("ticket enctype %d: principal %s has no such key", tkt.EncPart.EType, p.Name)
	}
	etp, err := decodeTicketPart(tkt, key)
	if err != nil {
		t.Fatalf("ticket does not decrypt with %s's key: %v", p.Name, err)
	}
	return etp
}

// encryptionKey is a database key in gokrb5's type, for the test clients.
func encryptionKey(k db.Key) types.EncryptionKey {
	return types.EncryptionKey{KeyType: k.EType, KeyValue: k.Value}
}

func mustKeySize(t *testing.T, etype int32) int {
	t.Helper()
	n, err := kcrypto.KeySize(etype)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
