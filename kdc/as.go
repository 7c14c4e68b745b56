package kdc

import (
	"fmt"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/iana"
	"github.com/jcmturner/gokrb5/v8/iana/asnAppTag"
	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/msgtype"
	"github.com/jcmturner/gokrb5/v8/iana/patype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/kdcha/kdcha/kdc/db"
	"github.com/kdcha/kdcha/kdc/internal/wire"
)

// handleAS serves one AS-REQ.
func (h *Handler) handleAS(req Request, now time.Time) ([]byte, *outcome) {
	out := &outcome{exchange: "AS_REQ", client: "<unknown>", server: "<unknown>"}
	var as messages.ASReq
	if err := wire.DecodeASReq(req.Data, &as); err != nil {
		out.drop("malformed AS-REQ: %v", err)
		return nil, out
	}
	if as.PVNO != iana.PVNO {
		// MIT's decoder refuses it too, so krb5kdc drops it.
		out.drop("AS-REQ with pvno %d", as.PVNO)
		return nil, out
	}
	b := as.ReqBody
	out.etypes = b.EType
	out.client = displayName(b.CName, b.Realm)
	out.server = displayName(b.SName, b.Realm)
	reply, kerr := h.issueAS(&as, now, out)
	if kerr != nil {
		out.fail(kerr)
		return h.errorReply(kerr, b.CName, b.Realm, b.SName, now), out
	}
	out.status = "ISSUE"
	return reply, out
}

// asOptionsRefused are KDC options that make no sense in an AS-REQ or that
// kdcha does not implement (postdating); asking for them is a client error
// the client should hear about, not a silently different ticket.
var asOptionsRefused = []int{flags.Forwarded, flags.Proxy, flags.PostDated, flags.Validate, flags.Renew, flags.EncTktInSkey}

func (h *Handler) issueAS(as *messages.ASReq, now time.Time, out *outcome) ([]byte, *krbError) {
	b := as.ReqBody
	realm := h.db.Realm()
	if b.Realm != realm {
		return nil, newError(errorcode.KDC_ERR_WRONG_REALM, "request for realm %q, this KDC serves %q", b.Realm, realm)
	}
	client, kerr := h.lookupClient(b.CName, realm, now)
	if kerr != nil {
		return nil, kerr
	}
	server, kerr := h.lookupService(b.SName, realm, now)
	if kerr != nil {
		return nil, kerr
	}
	if kerr := checkClientExpiry(client, server, realm, now); kerr != nil {
		return nil, kerr
	}
	for _, o := range asOptionsRefused {
		if flagSet(b.KDCOptions, o) {
			return nil, newError(errorcode.KDC_ERR_BADOPTION, "KDC option %d not allowed in an AS request", o)
		}
	}
	replyKey, ok := selectKey(client, b.EType)
	if !ok {
		return nil, newError(errorcode.KDC_ERR_ETYPE_NOSUPP, "client has no key for any requested enctype %v", b.EType)
	}

	preauthenticated := false
	if pa, ok := findPAData(as.PAData, patype.PA_ENC_TIMESTAMP); ok {
		if kerr := h.verifyEncTimestamp(pa, client, now); kerr != nil {
			if kerr.code == errorcode.KDC_ERR_PREAUTH_FAILED && client.Attributes.RequiresPreauth {
				h.lockout.failed(client, now)
			}
			return nil, kerr
		}
		h.lockout.succeeded(client.Name)
		preauthenticated = true
	} else if client.Attributes.RequiresPreauth {
		return nil, preauthRequired(replyKey)
	}

	sesEType, ok := selectSessionEType(server, b.EType)
	if !ok {
		return nil, newError(errorcode.KDC_ERR_ETYPE_NOSUPP, "service %s has no key for any requested enctype %v", server.Name, b.EType)
	}
	tktKey, ok := ticketKey(server)
	if !ok {
		return nil, newError(errorcode.KDC_ERR_ETYPE_NOSUPP, "service %s has no AES key", server.Name)
	}
	pol := h.realmPolicy()
	times, kerr := computeTimes(lifetimeRequest{
		now:         now,
		till:        b.Till,
		rtime:       b.RTime,
		renewable:   flagSet(b.KDCOptions, flags.Renewable),
		renewableOK: flagSet(b.KDCOptions, flags.RenewableOK),
		maxLife:     minLife(pol.MaxLife, client.MaxLife, server.MaxLife),
		maxRenew:    minLife(pol.MaxRenewableLife, client.MaxRenewableLife, server.MaxRenewableLife),
		noRenew:     client.Attributes.DisallowRenewable || server.Attributes.DisallowRenewable,
	})
	if kerr != nil {
		return nil, kerr
	}
	tktFlags, kerr := asTicketFlags(b.KDCOptions, client, server, preauthenticated, times.renewable)
	if kerr != nil {
		return nil, kerr
	}
	sessionKey, err := newSessionKey(h.rand, sesEType)
	if err != nil {
		return nil, newError(errorcode.KRB_ERR_GENERIC, "%v", err)
	}

	ticket, err := sealTicket(messages.EncTicketPart{
		Flags:     tktFlags,
		Key:       sessionKey,
		CRealm:    realm,
		CName:     b.CName,
		Transited: messages.TransitedEncoding{TRType: 1, Contents: []byte{}},
		AuthTime:  times.start,
		StartTime: times.start,
		EndTime:   times.end,
		RenewTill: times.renewTill,
		CAddr:     b.Addresses,
	}, b.SName, realm, tktKey)
	if err != nil {
		return nil, newError(errorcode.KRB_ERR_GENERIC, "%v", err)
	}
	replyKeys, err := longTermKeys(replyKey, keyusage.AS_REP_ENCPART)
	if err != nil {
		return nil, newError(errorcode.KRB_ERR_GENERIC, "%v", err)
	}
	encPart, err := sealRepPart(messages.EncKDCRepPart{
		Key:       sessionKey,
		LastReqs:  lastReqs,
		Nonce:     b.Nonce,
		Flags:     tktFlags,
		AuthTime:  times.start,
		StartTime: times.start,
		EndTime:   times.end,
		RenewTill: times.renewTill,
		SRealm:    realm,
		SName:     b.SName,
		CAddr:     b.Addresses,
	}, asnAppTag.EncASRepPart, replyKeys, replyKey.KVNO)
	if err != nil {
		return nil, newError(errorcode.KRB_ERR_GENERIC, "%v", err)
	}
	info := etypeInfo2(replyKey)
	rep := messages.ASRep{KDCRepFields: messages.KDCRepFields{
		PVNO:    iana.PVNO,
		MsgType: msgtype.KRB_AS_REP,
		PAData:  types.PADataSequence{{PADataType: patype.PA_ETYPE_INFO2, PADataValue: info}},
		CRealm:  realm,
		CName:   b.CName,
		Ticket:  ticket,
		EncPart: encPart,
	}}
	reply := wire.AppendASRep(make([]byte, 0, replyCap), &rep)
	out.authtime = times.start
	out.repEType, out.tktEType, out.sesEType = replyKey.EType, tktKey.EType, sesEType
	return reply, nil
}

// asTicketFlags decides an initial ticket's flags. KDC options 2-5
// (forwarded, proxiable, proxy, allow-postdate) must come back exactly as
// requested because Java rejects the reply otherwise ("Message stream
// modified"), so a request the policy cannot honour is refused with
// KDC_ERR_BADOPTION instead of answered with other flags.
func asTicketFlags(opts asn1.BitString, client, server *db.Principal, preauthenticated, renewable bool) (asn1.BitString, *krbError) {
	bits := make([]int, 1, 8) // on the stack: at most 6 bits are set
	bits[0] = flags.Initial
	if preauthenticated {
		bits = append(bits, flags.PreAuthent)
	}
	if flagSet(opts, flags.Forwardable) && !client.Attributes.DisallowForwardable && !server.Attributes.DisallowForwardable {
		bits = append(bits, flags.Forwardable)
	}
	if flagSet(opts, flags.Proxiable) {
		if client.Attributes.DisallowProxiable || server.Attributes.DisallowProxiable {
			return asn1.BitString{}, newError(errorcode.KDC_ERR_BADOPTION, "proxiable tickets not allowed for %s", client.Name)
		}
		bits = append(bits, flags.Proxiable)
	}
	if flagSet(opts, flags.AllowPostDate) {
		bits = append(bits, flags.MayPostDate)
	}
	if renewable {
		bits = append(bits, flags.Renewable)
	}
	return newFlags(bits...), nil
}

// verifyEncTimestamp checks PA-ENC-TIMESTAMP: it must decrypt with the
// client's key of the enctype the client chose and carry a time within the
// allowed skew.
func (h *Handler) verifyEncTimestamp(pa types.PAData, client *db.Principal, now time.Time) *krbError {
	var ed types.EncryptedData
	if err := wire.DecodeEncryptedData(pa.PADataValue, &ed); err != nil {
		return newError(errorcode.KDC_ERR_PREAUTH_FAILED, "malformed PA-ENC-TIMESTAMP: %v", err)
	}
	key, ok := client.KeyFor(ed.EType)
	if !ok || !permittedEType(ed.EType) {
		return newError(errorcode.KDC_ERR_PREAUTH_FAILED, "PA-ENC-TIMESTAMP in enctype %d, for which the client has no key", ed.EType)
	}
	keys, err := longTermKeys(key, keyusage.AS_REQ_PA_ENC_TIMESTAMP)
	if err != nil {
		return newError(errorcode.KDC_ERR_PREAUTH_FAILED, "%v", err)
	}
	plain, err := decrypt(ed, keys)
	if err != nil {
		return newError(errorcode.KDC_ERR_PREAUTH_FAILED, "wrong password or key (PA-ENC-TIMESTAMP does not decrypt)")
	}
	var ts types.PAEncTSEnc
	if err := wire.DecodePAEncTSEnc(plain, &ts); err != nil {
		return newError(errorcode.KDC_ERR_PREAUTH_FAILED, "malformed PA-ENC-TS-ENC: %v", err)
	}
	if d := ts.PATimestamp.Sub(now); d > h.policy.ClockSkew || d < -h.policy.ClockSkew {
		return newError(errorcode.KRB_AP_ERR_SKEW, "client clock off by %s (max %s)", d.Round(time.Second), h.policy.ClockSkew)
	}
	return nil
}

// preauthRequired builds KDC_ERR_PREAUTH_REQUIRED whose e-data is METHOD-DATA
// with PA-ETYPE-INFO2 (one entry: the key the client must derive, with its
// salt always explicit) and an empty PA-ENC-TIMESTAMP offering that method.
func preauthRequired(key db.Key) *krbError {
	e := newError(errorcode.KDC_ERR_PREAUTH_REQUIRED, "")
	e.eText = "Additional pre-authentication required"
	e.detail = e.eText
	e.eData = wire.AppendMethodData(make([]byte, 0, 64), types.MethodData{
		{PADataType: patype.PA_ETYPE_INFO2, PADataValue: etypeInfo2(key)},
		{PADataType: patype.PA_ENC_TIMESTAMP, PADataValue: []byte{}},
	})
	return e
}

// etypeInfo2 encodes PA-ETYPE-INFO2 for one key. The salt is always sent:
// gokrb5's type would drop an empty one and the client would then fall back
// to the default salt, which is wrong for renamed principals.
func etypeInfo2(k db.Key) []byte {
	// Sized for the entry, so appending does not grow it several times.
	return wire.AppendETypeInfo2(make([]byte, 0, 16+len(k.Salt)), types.ETypeInfo2{{EType: k.EType, Salt: k.Salt}})
}

func findPAData(pas types.PADataSequence, t int32) (types.PAData, bool) {
	for _, pa := range pas {
		if pa.PADataType == t {
			return pa, true
		}
	}
	return types.PAData{}, false
}

// lookupClient resolves a client name; unknown, disabled and locked clients
// get the codes MIT uses.
func (h *Handler) lookupClient(pn types.PrincipalName, realm string, now time.Time) (*db.Principal, *krbError) {
	name, ok := principalKey(pn, realm)
	if !ok {
		return nil, newError(errorcode.KDC_ERR_C_PRINCIPAL_UNKNOWN, "malformed client name")
	}
	p, ok := h.db.Lookup(name)
	if !ok {
		return nil, newError(errorcode.KDC_ERR_C_PRINCIPAL_UNKNOWN, "client not found in database")
	}
	if p.Attributes.Disabled {
		return nil, newError(errorcode.KDC_ERR_CLIENT_REVOKED, "client %s is disabled", p.Name)
	}
	if h.lockout.locked(p, now) {
		return nil, newError(errorcode.KDC_ERR_CLIENT_REVOKED, "client %s is locked out", p.Name)
	}
	return p, nil
}

// lookupService resolves a service name. When it is unknown the log names
// the closest existing names, because the usual cause is a host-based name
// built from an IP where the key is under the FQDN, or the reverse (client
// rdns/dns_canonicalize_hostname settings); the client is told nothing more
// than the RFC error.
func (h *Handler) lookupService(pn types.PrincipalName, realm string, now time.Time) (*db.Principal, *krbError) {
	name, ok := principalKey(pn, realm)
	if !ok {
		return nil, newError(errorcode.KDC_ERR_S_PRINCIPAL_UNKNOWN, "malformed server name")
	}
	p, ok := h.db.Lookup(name)
	if !ok {
		detail := "server not found in database"
		if ok, _ := h.similarBudget.take(now); !ok {
			detail += " (closest names not computed: too many unknown names this second)"
		} else if similar := h.db.Similar(name, 3); len(similar) > 0 {
			detail += fmt.Sprintf("; closest existing names: %v (a host-based name built from an IP where the key is under the FQDN, or the reverse? add an alias)", similar)
		}
		return nil, newError(errorcode.KDC_ERR_S_PRINCIPAL_UNKNOWN, "%s", detail)
	}
	if p.Attributes.Disabled || p.Attributes.DisallowService {
		return nil, newError(errorcode.KDC_ERR_SERVICE_REVOKED, "service %s is disabled or not allowed as a service", p.Name)
	}
	if kerr := checkServiceExpiry(p, now); kerr != nil {
		return nil, kerr
	}
	return p, nil
}
