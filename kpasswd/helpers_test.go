package kpasswd

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/asn1tools"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/asnAppTag"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/kadmin"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/kdcha/kdcha/kdc"
	"github.com/kdcha/kdcha/kdc/db"
)

const testRealm = "KPASSWD.TEST"

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// fixture is a one-node database with kadmin/changepw, a user, an admin
// allowed to set passwords, and a Handler on it with a fixed clock.
type fixture struct {
	db  *db.DB
	h   *Handler
	now time.Time
}

func newFixture(t *testing.T) *fixture { return newFixtureTB(t) }

func newFixtureTB(t testing.TB) *fixture {
	t.Helper()
	d, err := db.Open(db.Options{DataDir: filepath.Join(t.TempDir(), "db"), Realm: testRealm, CreateIfMissing: true, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	ctx := context.Background()
	pw := "old-secret-pass"
	for _, req := range []db.CreateRequest{
		{Name: db.ChangePasswordPrincipal, RandomKey: true},
		{Name: "alice", Password: &pw},
		{Name: "bob", Password: &pw},
		{Name: "admin", Password: &pw, Attributes: &db.Attributes{RequiresPreauth: true, MaySetPasswords: true}},
	} {
		if _, err := d.Create(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	f := &fixture{db: d, now: time.Now().UTC().Truncate(time.Second)}
	f.h = NewHandler(d, 5*time.Minute, WithClock(func() time.Time { return f.now }), WithLogger(discard))
	return f
}

func principalName(name string) types.PrincipalName {
	return types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, name)
}

// ticket forges what the KDC would issue client for kadmin/changepw.
func (f *fixture) ticket(t *testing.T, client string, initial bool) (messages.Ticket, types.EncryptionKey) {
	t.Helper()
	svc, err := f.db.Get(db.ChangePasswordPrincipal)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := svc.KeyFor(18)
	sk := types.EncryptionKey{KeyType: 18, KeyValue: make([]byte, 32)}
	rand.Read(sk.KeyValue)
	var bits []int
	if initial {
		bits = append(bits, flags.Initial)
	}
	fl := types.NewKrbFlags()
	for _, b := range append(bits, flags.PreAuthent) {
		types.SetFlag(&fl, b)
	}
	etp := messages.EncTicketPart{Flags: fl, Key: sk, CRealm: testRealm, CName: principalName(client),
		AuthTime: f.now, StartTime: f.now, EndTime: f.now.Add(time.Hour)}
	b, err := asn1.Marshal(etp)
	if err != nil {
		t.Fatal(err)
	}
	ed, err := crypto.GetEncryptedData(asn1tools.AddASNAppTag(b, asnAppTag.EncTicketPart), types.EncryptionKey{KeyType: 18, KeyValue: key.Value}, keyusage.KDC_REP_TICKET, int(key.KVNO))
	if err != nil {
		t.Fatal(err)
	}
	return messages.Ticket{TktVNO: 5, Realm: testRealm, SName: types.NewPrincipalName(nametype.KRB_NT_SRV_INST, db.ChangePasswordPrincipal), EncPart: ed}, sk
}

// clientReq is one request as a client builds it, with the subkey that
// decrypts the reply.
type clientReq struct {
	raw     []byte
	subkey  types.EncryptionKey
	session types.EncryptionKey
}

// request builds a request the way MIT kpasswd does (version 1: the
// KRB-PRIV holds the password; subkey and sequence number in the
// authenticator) or, with version 0xff80, a set-password one whose
// ChangePasswdData names target (empty: none).
func (f *fixture) request(t *testing.T, client string, initial bool, version uint16, password, target string) clientReq {
	t.Helper()
	tkt, sk := f.ticket(t, client, initial)
	auth, err := types.NewAuthenticator(testRealm, principalName(client))
	if err != nil {
		t.Fatal(err)
	}
	auth.CTime = f.now
	if err := auth.GenerateSeqNumberAndSubKey(18, 32); err != nil {
		t.Fatal(err)
	}
	ap, err := messages.NewAPReq(tkt, sk, auth)
	if err != nil {
		t.Fatal(err)
	}
	apb, err := ap.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	data := []byte(password)
	if version == VersionSetPassword {
		cpd := kadmin.ChangePasswdData{NewPasswd: data}
		if target != "" {
			cpd.TargName, cpd.TargRealm = principalName(target), testRealm
		}
		if data, err = cpd.Marshal(); err != nil {
			t.Fatal(err)
		}
	}
	priv := messages.NewKRBPriv(messages.EncKrbPrivPart{UserData: data, SequenceNumber: auth.SeqNumber,
		SAddress: types.HostAddress{AddrType: 2, Address: []byte{127, 0, 0, 1}}})
	if err := priv.EncryptEncPart(auth.SubKey); err != nil {
		t.Fatal(err)
	}
	pb, err := priv.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := EncodeRequest(version, apb, pb)
	if err != nil {
		t.Fatal(err)
	}
	return clientReq{raw: raw, subkey: auth.SubKey, session: sk}
}

var testFrom = netip.MustParseAddrPort("192.0.2.7:40000")

func (f *fixture) handle(raw []byte) []byte {
	return f.h.Handle(kdc.Request{Data: raw, From: testFrom, To: netip.MustParseAddr("192.0.2.1"), Transport: "udp"})
}

// result decodes a reply as gokrb5's client does, and checks what MIT's
// client checks: the AP-REP opens with the session key and its sequence
// number is the KRB-PRIV's.
func result(t *testing.T, reply []byte, c clientReq) (code uint16, text string, isError bool) {
	t.Helper()
	if reply == nil {
		t.Fatal("no reply")
	}
	var r kadmin.Reply
	if err := r.Unmarshal(reply); err != nil {
		t.Fatalf("reply does not decode: %v", err)
	}
	if r.IsKRBError {
		return r.ResultCode, r.Result, true
	}
	if err := r.Decrypt(c.subkey); err != nil {
		t.Fatalf("KRB-PRIV does not decrypt with the subkey: %v", err)
	}
	plain, err := crypto.DecryptEncPart(r.APREP.EncPart, c.session, keyusage.AP_REP_ENCPART)
	if err != nil {
		t.Fatalf("AP-REP does not decrypt with the session key: %v", err)
	}
	var part messages.EncAPRepPart
	if err := part.Unmarshal(plain); err != nil {
		t.Fatalf("EncAPRepPart: %v", err)
	}
	if part.SequenceNumber == 0 || part.SequenceNumber != r.KRBPriv.DecryptedEncPart.SequenceNumber {
		t.Fatalf("AP-REP seq %d, KRB-PRIV seq %d", part.SequenceNumber, r.KRBPriv.DecryptedEncPart.SequenceNumber)
	}
	if a := r.KRBPriv.DecryptedEncPart.SAddress; a.AddrType != 2 || string(a.Address) != string([]byte{192, 0, 2, 1}) {
		t.Fatalf("KRB-PRIV s-address %v, want the arrival address 192.0.2.1", a)
	}
	return r.ResultCode, r.Result, false
}

// keyFor reports whether name's current AES-256 key derives from password.
func (f *fixture) keyFor(t *testing.T, name, password string) bool {
	t.Helper()
	p, err := f.db.Get(name)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := p.KeyFor(18)
	et, _ := crypto.GetEtype(18)
	want, err := et.StringToKey(password, k.Salt, et.GetDefaultStringToKeyParams())
	if err != nil {
		t.Fatal(err)
	}
	return string(want) == string(k.Value)
}
