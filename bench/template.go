package bench

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/crypto/etype"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// Placeholders marshalled into a template and found again by their bytes.
// Each has the DER length its real values always have, so a request is the
// template with the same bytes overwritten, never re-encoded:
//   - a nonce in [2^30, 2^31) is always a 4-byte positive INTEGER;
//   - a GeneralizedTime without fractions is always 15 bytes;
//   - a microsecond count in [2^15, 2^23) is always a 3-byte INTEGER (the
//     real count is raised by 2^15 when below it: at most 33 ms late,
//     well inside any clock skew);
//   - ciphertext and checksum lengths depend only on the enctype.
const (
	nonceBase        = 1 << 30
	nonceMask        = 1<<30 - 1
	placeholderNonce = 0x5a3c5a3c
	placeholderUsec  = 0x0b1c2d
	usecFloor        = 1 << 15
)

var placeholderTime = time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)

// field is where a fixed-length value sits in a template.
type field struct{ off, n int }

// locate finds the one occurrence of placeholder in b.
func locate(b, placeholder []byte, what string) (field, error) {
	i := bytes.Index(b, placeholder)
	if i < 0 {
		return field{}, fmt.Errorf("template: %s placeholder not found", what)
	}
	if bytes.Contains(b[i+1:], placeholder) {
		return field{}, fmt.Errorf("template: %s placeholder found twice", what)
	}
	return field{i, len(placeholder)}, nil
}

func locateNonce(b []byte) (field, error) {
	f, err := locate(b, []byte{0x02, 0x04, 0x5a, 0x3c, 0x5a, 0x3c}, "nonce")
	return field{f.off + 2, 4}, err
}

func locateTime(b []byte) (field, error) {
	return locate(b, []byte(placeholderTime.Format("20060102150405Z")), "time")
}

func locateUsec(b []byte) (field, error) {
	f, err := locate(b, []byte{0x02, 0x03, 0x0b, 0x1c, 0x2d}, "usec")
	return field{f.off + 2, 3}, err
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return b
}

// putNonce writes a nonce (already in [2^30, 2^31)) big-endian.
func putNonce(b []byte, f field, nonce uint32) {
	binary.BigEndian.PutUint32(b[f.off:f.off+4], nonce)
}

// putTime writes t as GeneralizedTime YYYYMMDDHHMMSSZ and its microseconds
// as a 3-byte INTEGER, without allocating.
func putTime(b []byte, tf, uf field, t time.Time) {
	t = t.UTC()
	d := b[tf.off : tf.off+15]
	y, mo, day := t.Date()
	h, mi, s := t.Clock()
	put := func(i, v, width int) {
		for j := width - 1; j >= 0; j-- {
			d[i+j] = byte('0' + v%10)
			v /= 10
		}
	}
	put(0, y, 4)
	put(4, int(mo), 2)
	put(6, day, 2)
	put(8, h, 2)
	put(10, mi, 2)
	put(12, s, 2)
	d[14] = 'Z'
	us := t.Nanosecond() / 1000
	if us < usecFloor {
		us += usecFloor
	}
	u := b[uf.off : uf.off+3]
	u[0], u[1], u[2] = byte(us>>16), byte(us>>8), byte(us)
}

func principalName(name string) types.PrincipalName {
	return types.PrincipalName{NameType: nametype.KRB_NT_PRINCIPAL, NameString: strings.Split(name, "/")}
}

func tgsPrincipal(realm string) types.PrincipalName {
	return types.PrincipalName{NameType: nametype.KRB_NT_SRV_INST, NameString: []string{"krbtgt", realm}}
}

func kdcOptions() asn1.BitString {
	f := types.NewKrbFlags()
	types.SetFlag(&f, flags.Forwardable)
	return f
}

// asTemplate is an AS-REQ for the client's TGT, optionally with a
// PA-ENC-TIMESTAMP. It is read-only once built; each worker builds requests
// from it with its own asBuilder.
type asTemplate struct {
	req    []byte
	nonce  field
	cipher field // the PA-ENC-TIMESTAMP ciphertext; n == 0 without preauth
	ts     []byte
	tsTime field
	tsUsec field
	key    types.EncryptionKey
	et     etype.EType
}

// newASTemplate builds the template; key is nil for an AS-REQ without
// pre-authentication.
func newASTemplate(realm, client string, etypes []int32, till time.Time, key *types.EncryptionKey) (*asTemplate, error) {
	req := messages.ASReq{KDCReqFields: messages.KDCReqFields{
		PVNO: 5, MsgType: 10,
		ReqBody: messages.KDCReqBody{
			KDCOptions: kdcOptions(),
			CName:      principalName(client),
			Realm:      realm,
			SName:      tgsPrincipal(realm),
			Till:       till.UTC().Truncate(time.Second),
			Nonce:      placeholderNonce,
			EType:      etypes,
		},
	}}
	t := &asTemplate{}
	var placeholder []byte
	if key != nil {
		et, err := crypto.GetEtype(key.KeyType)
		if err != nil {
			return nil, fmt.Errorf("client key: %w", err)
		}
		ts, err := asn1.Marshal(types.PAEncTSEnc{PATimestamp: placeholderTime, PAUSec: placeholderUsec})
		if err != nil {
			return nil, fmt.Errorf("marshal PA-ENC-TS-ENC: %w", err)
		}
		_, sample, err := et.EncryptMessage(key.KeyValue, ts, keyusage.AS_REQ_PA_ENC_TIMESTAMP)
		if err != nil {
			return nil, fmt.Errorf("encrypt PA-ENC-TIMESTAMP: %w", err)
		}
		placeholder = randomBytes(len(sample))
		ed, err := asn1.Marshal(types.EncryptedData{EType: key.KeyType, Cipher: placeholder})
		if err != nil {
			return nil, fmt.Errorf("marshal PA-ENC-TIMESTAMP: %w", err)
		}
		req.PAData = types.PADataSequence{{PADataType: 2, PADataValue: ed}}
		t.ts, t.key, t.et = ts, *key, et
		if t.tsTime, err = locateTime(ts); err != nil {
			return nil, err
		}
		if t.tsUsec, err = locateUsec(ts); err != nil {
			return nil, err
		}
	}
	b, err := req.Marshal()
	if err != nil {
		return nil, fmt.Errorf("marshal AS-REQ: %w", err)
	}
	t.req = b
	if t.nonce, err = locateNonce(b); err != nil {
		return nil, err
	}
	if placeholder != nil {
		if t.cipher, err = locate(b, placeholder, "PA-ENC-TIMESTAMP"); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// asBuilder is one worker's scratch space for an asTemplate.
type asBuilder struct {
	t   *asTemplate
	req []byte
	ts  []byte
}

func (t *asTemplate) builder() *asBuilder {
	return &asBuilder{t: t, req: bytes.Clone(t.req), ts: bytes.Clone(t.ts)}
}

// build returns the request for nonce at now; the slice is reused by the
// next call.
func (b *asBuilder) build(nonce uint32, now time.Time) ([]byte, error) {
	putNonce(b.req, b.t.nonce, nonce)
	if b.t.cipher.n == 0 {
		return b.req, nil
	}
	putTime(b.ts, b.t.tsTime, b.t.tsUsec, now)
	_, c, err := b.t.et.EncryptMessage(b.t.key.KeyValue, b.ts, keyusage.AS_REQ_PA_ENC_TIMESTAMP)
	if err != nil {
		return nil, fmt.Errorf("encrypt PA-ENC-TIMESTAMP: %w", err)
	}
	if len(c) != b.t.cipher.n {
		return nil, fmt.Errorf("PA-ENC-TIMESTAMP ciphertext of %d bytes, template has %d", len(c), b.t.cipher.n)
	}
	copy(b.req[b.t.cipher.off:], c)
	return b.req, nil
}

// tgsTemplate is a TGS-REQ for a service with a TGT: per request the body
// nonce changes, so the authenticator's body checksum, time and ciphertext
// change too.
type tgsTemplate struct {
	req        []byte
	body       field // the KDC-REQ-BODY the checksum covers
	nonce      field
	cipher     field // the authenticator ciphertext
	auth       []byte
	authTime   field
	authUsec   field
	authCksum  field
	sessionKey types.EncryptionKey
	et         etype.EType
}

func newTGSTemplate(realm, client, service string, etypes []int32, till time.Time, tgt messages.Ticket, sessionKey types.EncryptionKey) (*tgsTemplate, error) {
	et, err := crypto.GetEtype(sessionKey.KeyType)
	if err != nil {
		return nil, fmt.Errorf("session key: %w", err)
	}
	body := messages.KDCReqBody{
		KDCOptions: kdcOptions(),
		Realm:      realm,
		SName:      principalName(service),
		Till:       till.UTC().Truncate(time.Second),
		Nonce:      placeholderNonce,
		EType:      etypes,
	}
	bodyBytes, err := body.Marshal()
	if err != nil {
		return nil, fmt.Errorf("marshal KDC-REQ-BODY: %w", err)
	}
	cksum := randomBytes(et.GetHMACBitLength() / 8)
	auth := types.Authenticator{
		AVNO: 5, CRealm: realm, CName: principalName(client),
		Cksum: types.Checksum{CksumType: et.GetHashID(), Checksum: cksum},
		Cusec: placeholderUsec, CTime: placeholderTime,
	}
	authBytes, err := auth.Marshal()
	if err != nil {
		return nil, fmt.Errorf("marshal authenticator: %w", err)
	}
	_, sample, err := et.EncryptMessage(sessionKey.KeyValue, authBytes, keyusage.TGS_REQ_PA_TGS_REQ_AP_REQ_AUTHENTICATOR)
	if err != nil {
		return nil, fmt.Errorf("encrypt authenticator: %w", err)
	}
	placeholder := randomBytes(len(sample))
	ap := messages.APReq{PVNO: 5, MsgType: 14, APOptions: types.NewKrbFlags(), Ticket: tgt,
		EncryptedAuthenticator: types.EncryptedData{EType: sessionKey.KeyType, Cipher: placeholder}}
	apBytes, err := ap.Marshal()
	if err != nil {
		return nil, fmt.Errorf("marshal AP-REQ: %w", err)
	}
	req := messages.TGSReq{KDCReqFields: messages.KDCReqFields{PVNO: 5, MsgType: 12, ReqBody: body,
		PAData: types.PADataSequence{{PADataType: 1, PADataValue: apBytes}}}}
	b, err := req.Marshal()
	if err != nil {
		return nil, fmt.Errorf("marshal TGS-REQ: %w", err)
	}
	t := &tgsTemplate{req: b, auth: authBytes, sessionKey: sessionKey, et: et}
	if t.body, err = locate(b, bodyBytes, "KDC-REQ-BODY"); err != nil {
		return nil, err
	}
	if t.nonce, err = locateNonce(b); err != nil {
		return nil, err
	}
	if t.cipher, err = locate(b, placeholder, "authenticator"); err != nil {
		return nil, err
	}
	if t.authTime, err = locateTime(authBytes); err != nil {
		return nil, err
	}
	if t.authUsec, err = locateUsec(authBytes); err != nil {
		return nil, err
	}
	if t.authCksum, err = locate(authBytes, cksum, "checksum"); err != nil {
		return nil, err
	}
	return t, nil
}

// tgsBuilder is one worker's scratch space for a tgsTemplate.
type tgsBuilder struct {
	t    *tgsTemplate
	req  []byte
	auth []byte
}

func (t *tgsTemplate) builder() *tgsBuilder {
	return &tgsBuilder{t: t, req: bytes.Clone(t.req), auth: bytes.Clone(t.auth)}
}

func (b *tgsBuilder) build(nonce uint32, now time.Time) ([]byte, error) {
	t := b.t
	putNonce(b.req, t.nonce, nonce)
	sum, err := t.et.GetChecksumHash(t.sessionKey.KeyValue, b.req[t.body.off:t.body.off+t.body.n], keyusage.TGS_REQ_PA_TGS_REQ_AP_REQ_AUTHENTICATOR_CHKSUM)
	if err != nil {
		return nil, fmt.Errorf("body checksum: %w", err)
	}
	if len(sum) != t.authCksum.n {
		return nil, fmt.Errorf("body checksum of %d bytes, template has %d", len(sum), t.authCksum.n)
	}
	copy(b.auth[t.authCksum.off:], sum)
	putTime(b.auth, t.authTime, t.authUsec, now)
	_, c, err := t.et.EncryptMessage(t.sessionKey.KeyValue, b.auth, keyusage.TGS_REQ_PA_TGS_REQ_AP_REQ_AUTHENTICATOR)
	if err != nil {
		return nil, fmt.Errorf("encrypt authenticator: %w", err)
	}
	if len(c) != t.cipher.n {
		return nil, fmt.Errorf("authenticator ciphertext of %d bytes, template has %d", len(c), t.cipher.n)
	}
	copy(b.req[t.cipher.off:], c)
	return b.req, nil
}
