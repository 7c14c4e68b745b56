package kpasswd

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/asn1tools"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana"
	"github.com/jcmturner/gokrb5/v8/iana/addrtype"
	"github.com/jcmturner/gokrb5/v8/iana/asnAppTag"
	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/msgtype"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/kdcha/kdcha/kdc"
	"github.com/kdcha/kdcha/kdc/db"
)

// Store is what the service needs from the principal database: lookups
// (keys of kadmin/changepw, the caller's attributes) and the replicated
// password writes. *db.DB is one; ChangePassword (a principal's own, min
// life applies) and SetPassword (another's) apply the password policy and
// return an error wrapping db.ErrWeakPassword that names the policy and the
// rule, which becomes the soft-error text.
type Store interface {
	db.Reader
	ChangePassword(ctx context.Context, name, password string) (*db.Principal, error)
	SetPassword(ctx context.Context, name, password string) (*db.Principal, error)
}

// writeTimeout bounds the replicated write of one password change.
const writeTimeout = 10 * time.Second

// Handler serves kpasswd requests; it is a kdc.Responder, so kdc.Listen
// serves it with the KDC's socket behaviour. It is safe for concurrent use.
type Handler struct {
	store  Store
	skew   time.Duration
	now    func() time.Time
	rand   io.Reader
	log    *slog.Logger
	replay *replayCache
}

// Option customises a Handler, mostly for tests.
type Option func(*Handler)

// WithClock replaces the wall clock.
func WithClock(now func() time.Time) Option { return func(h *Handler) { h.now = now } }

// WithLogger sets the logger for the per-request lines.
func WithLogger(l *slog.Logger) Option { return func(h *Handler) { h.log = l } }

// NewHandler returns a Handler for the realm of s, accepting authenticators
// within skew of its clock.
func NewHandler(s Store, skew time.Duration, opts ...Option) *Handler {
	h := &Handler{store: s, skew: skew, now: time.Now, rand: rand.Reader, log: slog.Default(), replay: newReplayCache(maxReplayEntries)}
	for _, o := range opts {
		o(h)
	}
	return h
}

var _ kdc.Responder = (*Handler)(nil)

// tagAPReq is the identifier octet of an AP-REQ (APPLICATION 14). A message
// whose AP-REQ part does not start with it is dropped unanswered: replies
// never carry an AP-REQ, so two servers cannot bounce errors at each other.
const tagAPReq = 0x6e

// failure is a result that is not success, with what the log says.
type failure struct {
	result uint16
	text   string // sent to the client
	detail string // logged
	krbErr int32  // the KRB-ERROR code, when no AP-REP can be sent
}

func fail(result uint16, krbErr int32, text, detail string) *failure {
	return &failure{result: result, text: text, detail: detail, krbErr: krbErr}
}

// Handle answers one request (nil: drop it).
func (h *Handler) Handle(req kdc.Request) []byte {
	if len(req.Data) < headerLen+1 || req.Data[headerLen] != tagAPReq {
		h.log.Debug("kpasswd: dropped a message that is not a request", "from", req.From, "len", len(req.Data))
		return nil
	}
	now := h.now().UTC()
	r, err := DecodeRequest(req.Data)
	if err != nil {
		return h.errorReply(fail(ResultMalformed, errorcode.KRB_AP_ERR_MODIFIED, "Request was truncated or its lengths are inconsistent", err.Error()), req, now)
	}
	if r.Version != VersionChangePassword && r.Version != VersionSetPassword {
		return h.errorReply(fail(ResultBadVersion, errorcode.KDC_ERR_BAD_PVNO, fmt.Sprintf("Request contained unknown protocol version number %d", r.Version), ""), req, now)
	}
	sess, f := h.authenticate(r.APReq, now)
	if f != nil {
		return h.errorReply(f, req, now)
	}
	reqHash := sha256.Sum256(req.Data)
	prev, status := h.replay.check(sess.replayKey, reqHash, sess.replayUntil, now)
	switch status {
	case replayRetransmit:
		return prev // nil while the first copy is still being served
	case replayRefused:
		return h.errorReply(fail(ResultAuthError, errorcode.KRB_AP_ERR_REPEAT, "Request is a replay", "replayed authenticator from "+sess.client), req, now)
	case replayFull:
		return h.errorReply(fail(ResultHardError, errorcode.KRB_ERR_GENERIC, "Server is busy, try again later", "replay cache full"), req, now)
	}
	result, text := h.change(r, sess, req)
	reply, err := h.privReply(sess, result, text, req.To, now)
	if err != nil {
		h.log.Error("kpasswd: cannot encode reply", "err", err)
		reply = nil
	}
	h.replay.done(sess.replayKey, reply)
	return reply
}

// ErrorReply answers a transport failure (an over-long TCP frame).
func (h *Handler) ErrorReply(code int32, detail string) []byte {
	return h.errorReply(fail(ResultMalformed, code, "Request is too long", detail), kdc.Request{}, h.now().UTC())
}

// session is what an authenticated AP-REQ established.
type session struct {
	client      string // canonical name of the ticket's client
	cname       types.PrincipalName
	initial     bool
	sessionKey  types.EncryptionKey
	privKey     types.EncryptionKey // the authenticator subkey, else the session key
	auth        types.Authenticator
	seq         int64 // our sequence number, in the AP-REP and the reply KRB-PRIV
	replayKey   [32]byte
	replayUntil time.Time
}

// authenticate verifies the AP-REQ: a ticket for kadmin/changepw of this
// realm that opens with its key and is valid now, and an authenticator of
// the same client within the clock skew.
func (h *Handler) authenticate(raw []byte, now time.Time) (*session, *failure) {
	authFail := func(code int32, detail string) (*session, *failure) {
		return nil, fail(ResultAuthError, code, "Failed reading application request", detail)
	}
	var ap messages.APReq
	if err := ap.Unmarshal(raw); err != nil {
		return authFail(errorcode.KRB_AP_ERR_MSG_TYPE, fmt.Sprintf("malformed AP-REQ: %v", err))
	}
	realm := h.store.Realm()
	tkt := ap.Ticket
	sname, ok := kdc.PrincipalKey(tkt.SName, tkt.Realm)
	if !ok || tkt.Realm != realm || sname != db.ChangePasswordPrincipal+"@"+realm {
		return authFail(errorcode.KRB_AP_ERR_NOT_US, fmt.Sprintf("ticket is for %s@%s, not %s@%s", strings.Join(tkt.SName.NameString, "/"), tkt.Realm, db.ChangePasswordPrincipal, realm))
	}
	owner, ok := h.store.Lookup(sname)
	if !ok {
		return authFail(errorcode.KRB_AP_ERR_NOKEY, sname+" is not in the database")
	}
	etp, terr := kdc.OpenTicket(owner, tkt)
	if terr != nil {
		return authFail(terr.Code, terr.Detail)
	}
	if err := ap.DecryptAuthenticator(etp.Key); err != nil {
		return authFail(errorcode.KRB_AP_ERR_BAD_INTEGRITY, fmt.Sprintf("authenticator does not decrypt: %v", err))
	}
	auth := ap.Authenticator
	if auth.CRealm != etp.CRealm || !auth.CName.Equal(etp.CName) {
		return authFail(errorcode.KRB_AP_ERR_BADMATCH, "authenticator client does not match ticket client")
	}
	if d := auth.CTime.Sub(now); d > h.skew || d < -h.skew {
		return authFail(errorcode.KRB_AP_ERR_SKEW, fmt.Sprintf("authenticator time off by %s (max %s)", d.Round(time.Second), h.skew))
	}
	start := etp.StartTime
	if start.IsZero() {
		start = etp.AuthTime
	}
	if kdc.FlagSet(etp.Flags, flags.Invalid) || start.After(now.Add(h.skew)) {
		return authFail(errorcode.KRB_AP_ERR_TKT_NYV, "ticket not yet valid")
	}
	if etp.EndTime.Before(now.Add(-h.skew)) {
		return authFail(errorcode.KRB_AP_ERR_TKT_EXPIRED, "ticket expired at "+etp.EndTime.Format(time.RFC3339))
	}
	client, ok := kdc.PrincipalKey(etp.CName, etp.CRealm)
	if !ok || etp.CRealm != realm {
		return authFail(errorcode.KRB_AP_ERR_BADMATCH, "ticket client is not a principal of this realm")
	}
	s := &session{client: client, cname: etp.CName, initial: kdc.FlagSet(etp.Flags, flags.Initial), sessionKey: etp.Key, privKey: etp.Key, auth: auth}
	if auth.SubKey.KeyType != 0 {
		s.privKey = auth.SubKey
	}
	var seq [4]byte
	if _, err := io.ReadFull(h.rand, seq[:]); err != nil {
		return nil, fail(ResultHardError, errorcode.KRB_ERR_GENERIC, "Server error", err.Error())
	}
	// A positive 31-bit number, never 0 (0 would be omitted on the wire).
	s.seq = int64(binary.BigEndian.Uint32(seq[:])&0x7fffffff) | 1
	s.replayKey = sha256.Sum256(ap.EncryptedAuthenticator.Cipher)
	s.replayUntil = auth.CTime.Add(h.skew)
	if now.After(auth.CTime) {
		s.replayUntil = now.Add(h.skew)
	}
	return s, nil
}

// change decrypts the KRB-PRIV, decides whether the caller may set the
// target's password and writes it.
func (h *Handler) change(r Request, s *session, req kdc.Request) (uint16, string) {
	verb, target := "chpw", s.client
	result, text, detail := h.apply(r, s, &verb, &target)
	msg := fmt.Sprintf("%s request from %s by %s for %s: ", verb, req.From.Addr(), s.client, target)
	if result == ResultSuccess {
		h.log.Info(msg+"success", "client", s.client, "target", target, "from", req.From.String(), "transport", req.Transport)
	} else {
		if detail == "" {
			detail = text
		}
		h.log.Warn(msg+detail, "client", s.client, "target", target, "from", req.From.String(), "transport", req.Transport, "result", result)
	}
	return result, text
}

func (h *Handler) apply(r Request, s *session, verb, target *string) (result uint16, text, detail string) {
	var priv messages.KRBPriv
	if err := priv.Unmarshal(r.Priv); err != nil {
		return ResultMalformed, "Failed decoding KRB-PRIV", err.Error()
	}
	if err := priv.DecryptEncPart(s.privKey); err != nil {
		return ResultHardError, "Failed decrypting request", err.Error()
	}
	p := priv.DecryptedEncPart
	// The KRB-PRIV is bound to this AP-REQ by the key: the authenticator's
	// fresh subkey (or the session key, which only the ticket's holder
	// knows), and the authenticator is in the replay cache. When the
	// authenticator carries a sequence number (gokrb5, Heimdal), the
	// KRB-PRIV must repeat it; MIT's has none and sends its own.
	if s.auth.SeqNumber != 0 && p.SequenceNumber != s.auth.SeqNumber {
		return ResultHardError, "Failed decrypting request", fmt.Sprintf("KRB-PRIV sequence number %d, authenticator's %d", p.SequenceNumber, s.auth.SeqNumber)
	}
	pw := p.UserData
	realm := h.store.Realm()
	if r.Version == VersionSetPassword {
		*verb = "setpw"
		cpd, err := DecodeChangePasswdData(p.UserData)
		if err != nil {
			return ResultMalformed, "Failed decoding ChangePasswdData", err.Error()
		}
		pw = cpd.NewPasswd
		if len(cpd.TargName.NameString) > 0 {
			trealm := cpd.TargRealm
			if trealm == "" {
				trealm = realm
			}
			name, ok := kdc.PrincipalKey(cpd.TargName, trealm)
			if !ok {
				return ResultMalformed, "Target principal name is malformed", ""
			}
			*target = name
			if trealm != realm {
				return ResultAccessDenied, fmt.Sprintf("Target %s is not in realm %s", name, realm), ""
			}
		}
	}
	caller, ok := h.store.Lookup(s.client)
	if !ok || caller.Attributes.Disabled {
		return ResultAccessDenied, "Client is unknown or disabled", ""
	}
	set := h.store.SetPassword
	if t, ok := h.store.Lookup(*target); ok && t.Name == caller.Name {
		set = h.store.ChangePassword
		*target = caller.Name
		// Changing one's own password needs a ticket from a password
		// entry just now (kinit), not one from a stolen TGT.
		if !s.initial {
			return ResultInitialFlagNeeded, "Password changes require an initial ticket (from kinit, not from a TGT)", ""
		}
	} else {
		if !caller.Attributes.MaySetPasswords {
			return ResultAccessDenied, fmt.Sprintf("%s may not set the password of %s", s.client, *target), ""
		}
		if !ok {
			return ResultHardError, fmt.Sprintf("Principal %s does not exist", *target), ""
		}
		if db.IsProtected(t.Name, realm) {
			return ResultAccessDenied, fmt.Sprintf("%s is a service kdcha relies on; its keys are random, not set by password", t.Name), ""
		}
		*target = t.Name
	}
	if err := checkPassword(pw); err != nil {
		return ResultSoftError, "Password rejected: " + err.Error(), ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	_, err := set(ctx, *target, string(pw))
	switch {
	case err == nil:
		return ResultSuccess, "Password changed", ""
	case errors.Is(err, db.ErrWeakPassword):
		// From the sentinel on: the policy and the rule, without the
		// operation and principal prefixes (or the leader's, when the
		// write was forwarded).
		i := strings.Index(err.Error(), db.ErrWeakPassword.Error())
		rule := err.Error()[max(i, 0):]
		return ResultSoftError, strings.ToUpper(rule[:1]) + rule[1:], err.Error()
	case errors.Is(err, db.ErrNotFound):
		return ResultHardError, fmt.Sprintf("Principal %s does not exist", *target), err.Error()
	default:
		return ResultHardError, "The password could not be saved (database unavailable); try again", err.Error()
	}
}

// privReply is the reply to an authenticated request: an AP-REP in the
// session key and a KRB-PRIV with the result, in the authenticator's
// subkey when it had one (RFC 3244 section 2), carrying our sequence number.
func (h *Handler) privReply(s *session, result uint16, text string, local netip.Addr, now time.Time) ([]byte, error) {
	part, err := asn1.Marshal(messages.EncAPRepPart{CTime: s.auth.CTime, Cusec: s.auth.Cusec, SequenceNumber: s.seq})
	if err != nil {
		return nil, fmt.Errorf("marshal EncAPRepPart: %w", err)
	}
	ed, err := crypto.GetEncryptedData(asn1tools.AddASNAppTag(part, asnAppTag.EncAPRepPart), s.sessionKey, keyusage.AP_REP_ENCPART, 0)
	if err != nil {
		return nil, fmt.Errorf("encrypt AP-REP: %w", err)
	}
	apRep, err := asn1.Marshal(messages.APRep{PVNO: iana.PVNO, MsgType: msgtype.KRB_AP_REP, EncPart: ed})
	if err != nil {
		return nil, fmt.Errorf("marshal AP-REP: %w", err)
	}
	apRep = asn1tools.AddASNAppTag(apRep, asnAppTag.APREP)
	priv := messages.NewKRBPriv(messages.EncKrbPrivPart{
		UserData:       EncodeResult(result, text),
		Timestamp:      now.Truncate(time.Second),
		Usec:           now.Nanosecond() / 1000,
		SequenceNumber: s.seq,
		SAddress:       senderAddress(local),
	})
	if err := priv.EncryptEncPart(s.privKey); err != nil {
		return nil, fmt.Errorf("encrypt KRB-PRIV: %w", err)
	}
	body, err := priv.Marshal()
	if err != nil {
		return nil, fmt.Errorf("marshal KRB-PRIV: %w", err)
	}
	return EncodeReply(apRep, body)
}

// senderAddress is the KRB-PRIV s-address: the address the request arrived
// on (Heimdal compares it with the address it sent to), or, when unknown,
// MIT's "directional, from the acceptor" marker.
func senderAddress(a netip.Addr) types.HostAddress {
	switch {
	case a.Is4():
		b := a.As4()
		return types.HostAddress{AddrType: addrtype.IPv4, Address: b[:]}
	case a.Is6():
		b := a.As16()
		return types.HostAddress{AddrType: addrtype.IPv6, Address: b[:]}
	}
	return types.HostAddress{AddrType: addrtype.Directional, Address: []byte{0, 0, 0, 1}}
}

// errorReply is the reply when no AP-REP can be sent: a KRB-ERROR whose
// e-data is the result code and text.
func (h *Handler) errorReply(f *failure, req kdc.Request, now time.Time) []byte {
	detail := f.detail
	if detail == "" {
		detail = f.text
	}
	if req.Data != nil {
		h.log.Warn("kpasswd request from "+req.From.Addr().String()+": "+detail, "from", req.From.String(), "transport", req.Transport, "result", f.result)
	}
	realm := h.store.Realm()
	e := messages.NewKRBError(types.PrincipalName{NameType: nametype.KRB_NT_SRV_INST, NameString: strings.Split(db.ChangePasswordPrincipal, "/")}, realm, f.krbErr, f.text)
	e.STime = now.Truncate(time.Second)
	e.Susec = now.Nanosecond() / 1000
	e.EData = EncodeResult(f.result, f.text)
	body, err := e.Marshal()
	if err == nil {
		var reply []byte
		if reply, err = EncodeReply(nil, body); err == nil {
			return reply
		}
	}
	h.log.Error("kpasswd: cannot encode KRB-ERROR", "err", err)
	return nil
}
