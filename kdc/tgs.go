package kdc

import (
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
	"github.com/kdcha/kdcha/kdc/internal/kcrypto"
	"github.com/kdcha/kdcha/kdc/internal/wire"
)

// handleTGS serves one TGS-REQ.
func (h *Handler) handleTGS(req Request, now time.Time) ([]byte, *outcome) {
	out := &outcome{exchange: "TGS_REQ", client: "<unknown>", server: "<unknown>"}
	var tgs messages.TGSReq
	rawBody, err := wire.DecodeTGSReq(req.Data, &tgs)
	if err != nil {
		out.drop("malformed TGS-REQ: %v", err)
		return nil, out
	}
	if tgs.PVNO != iana.PVNO {
		// MIT's decoder refuses it too, so krb5kdc drops it.
		out.drop("TGS-REQ with pvno %d", tgs.PVNO)
		return nil, out
	}
	b := tgs.ReqBody
	out.etypes = b.EType
	out.server = displayName(b.SName, b.Realm)
	reply, hdr, kerr := h.issueTGS(&tgs, rawBody, now, out)
	if kerr != nil {
		out.fail(kerr)
		return h.errorReply(kerr, hdr.CName, hdr.CRealm, b.SName, now), out
	}
	out.status = "ISSUE"
	return reply, out
}

// tgsOptionsRefused are KDC options kdcha does not implement (postdated
// tickets and user-to-user); refusing them beats issuing something else.
var tgsOptionsRefused = []int{flags.PostDated, flags.Validate, flags.EncTktInSkey}

// issueTGS returns the reply and, even on failure once it is known, the
// header ticket's decrypted part (for the error's cname).
func (h *Handler) issueTGS(tgs *messages.TGSReq, rawBody []byte, now time.Time, out *outcome) ([]byte, messages.EncTicketPart, *krbError) {
	b := tgs.ReqBody
	realm := h.db.Realm()
	var hdr messages.EncTicketPart
	pa, ok := findPAData(tgs.PAData, patype.PA_TGS_REQ)
	if !ok {
		return nil, hdr, newError(errorcode.KDC_ERR_PADATA_TYPE_NOSUPP, "no PA-TGS-REQ")
	}
	var ap messages.APReq
	if err := wire.DecodeAPReq(pa.PADataValue, &ap); err != nil {
		return nil, hdr, newError(errorcode.KRB_AP_ERR_MSG_TYPE, "malformed AP-REQ in PA-TGS-REQ: %v", err)
	}
	renew := flagSet(b.KDCOptions, flags.Renew)
	hdr, sessionKey, auth, kerr := h.verifyHeader(ap, rawBody, renew, now)
	if kerr != nil {
		return nil, hdr, kerr
	}
	out.client = displayName(hdr.CName, hdr.CRealm)

	// A client disabled or locked after it got its TGT loses it now, not at
	// the TGT's expiry.
	if cname, ok := principalKey(hdr.CName, hdr.CRealm); ok && hdr.CRealm == realm {
		if c, found := h.db.Lookup(cname); found && (c.Attributes.Disabled || h.lockout.locked(c, now)) {
			return nil, hdr, newError(errorcode.KDC_ERR_CLIENT_REVOKED, "client %s is disabled or locked out", c.Name)
		}
	}
	for _, o := range tgsOptionsRefused {
		if flagSet(b.KDCOptions, o) {
			return nil, hdr, newError(errorcode.KDC_ERR_BADOPTION, "KDC option %d is not supported", o)
		}
	}
	if b.Realm != realm {
		return nil, hdr, newError(errorcode.KDC_ERR_S_PRINCIPAL_UNKNOWN, "no cross-realm trust with %q", b.Realm)
	}
	service, kerr := h.lookupService(b.SName, realm, now)
	if kerr != nil {
		return nil, hdr, kerr
	}
	tktKey, ok := ticketKey(service)
	if !ok {
		return nil, hdr, newError(errorcode.KDC_ERR_ETYPE_NOSUPP, "service %s has no AES key", service.Name)
	}

	replyKey, replyUsage := sessionKey, uint32(keyusage.TGS_REP_ENCPART_SESSION_KEY)
	authzUsage := uint32(keyusage.TGS_REQ_KDC_REQ_BODY_AUTHDATA_SESSION_KEY)
	if auth.SubKey.KeyType != 0 {
		if !permittedEType(auth.SubKey.KeyType) {
			return nil, hdr, newError(errorcode.KDC_ERR_ETYPE_NOSUPP, "authenticator subkey enctype %d not permitted", auth.SubKey.KeyType)
		}
		replyKey, replyUsage = auth.SubKey, keyusage.TGS_REP_ENCPART_AUTHENTICATOR_SUB_KEY
		authzUsage = keyusage.TGS_REQ_KDC_REQ_BODY_AUTHDATA_SUB_KEY
	}

	var etp messages.EncTicketPart
	if renew {
		if displayName(ap.Ticket.SName, ap.Ticket.Realm) != displayName(b.SName, b.Realm) {
			return nil, hdr, newError(errorcode.KDC_ERR_SERVER_NOMATCH, "RENEW of a ticket for %s requested as %s", displayName(ap.Ticket.SName, ap.Ticket.Realm), out.server)
		}
		etp, kerr = renewTicket(hdr, b.Till, now)
	} else {
		etp, kerr = h.newServiceTicket(b, hdr, service, authzKey{replyKey, authzUsage}, now)
	}
	if kerr != nil {
		return nil, hdr, kerr
	}
	ticket, err := sealTicket(etp, b.SName, realm, tktKey)
	if err != nil {
		return nil, hdr, newError(errorcode.KRB_ERR_GENERIC, "%v", err)
	}
	// The reply names the service exactly as requested, alias included:
	// clients (Java strictly) reject a reply whose sname differs from the
	// request unless it is a krbtgt referral.
	replyKeys, err := sessionKeys(replyKey, replyUsage)
	if err != nil {
		return nil, hdr, newError(errorcode.KRB_ERR_GENERIC, "%v", err)
	}
	encPart, err := sealRepPart(messages.EncKDCRepPart{
		Key:       etp.Key,
		LastReqs:  lastReqs,
		Nonce:     b.Nonce,
		Flags:     etp.Flags,
		AuthTime:  etp.AuthTime,
		StartTime: etp.StartTime,
		EndTime:   etp.EndTime,
		RenewTill: etp.RenewTill,
		SRealm:    realm,
		SName:     b.SName,
		CAddr:     etp.CAddr,
	}, asnAppTag.EncTGSRepPart, replyKeys, 0)
	if err != nil {
		return nil, hdr, newError(errorcode.KRB_ERR_GENERIC, "%v", err)
	}
	rep := messages.TGSRep{KDCRepFields: messages.KDCRepFields{
		PVNO:    iana.PVNO,
		MsgType: msgtype.KRB_TGS_REP,
		CRealm:  hdr.CRealm,
		CName:   hdr.CName,
		Ticket:  ticket,
		EncPart: encPart,
	}}
	reply := wire.AppendTGSRep(make([]byte, 0, replyCap), &rep)
	out.authtime = etp.AuthTime
	out.repEType, out.tktEType, out.sesEType = replyKey.KeyType, tktKey.EType, etp.Key.KeyType
	return reply, hdr, nil
}

// verifyHeader authenticates the AP-REQ of a TGS request: the ticket must be
// this realm's TGT (or, for RENEW, any ticket of this realm's services),
// decrypt with the current key, be valid now, and come with a fresh
// authenticator whose checksum covers the request body as received.
func (h *Handler) verifyHeader(ap messages.APReq, rawBody []byte, renew bool, now time.Time) (messages.EncTicketPart, types.EncryptionKey, types.Authenticator, *krbError) {
	var hdr messages.EncTicketPart
	var auth types.Authenticator
	realm := h.db.Realm()
	tkt := ap.Ticket
	if tkt.Realm != realm {
		return hdr, types.EncryptionKey{}, auth, newError(errorcode.KRB_AP_ERR_NOT_US, "ticket issued by realm %q", tkt.Realm)
	}
	if !renew && !isLocalTGS(tkt.SName, realm) {
		return hdr, types.EncryptionKey{}, auth, newError(errorcode.KRB_AP_ERR_NOT_US, "ticket for %s is not a TGT", displayName(tkt.SName, tkt.Realm))
	}
	name, ok := principalKey(tkt.SName, realm)
	if !ok {
		return hdr, types.EncryptionKey{}, auth, newError(errorcode.KRB_AP_ERR_NOT_US, "malformed ticket server name")
	}
	owner, ok := h.db.Lookup(name)
	if !ok {
		return hdr, types.EncryptionKey{}, auth, newError(errorcode.KRB_AP_ERR_NOT_US, "ticket server %s not in database", name)
	}
	hdr, terr := OpenTicket(owner, tkt)
	if terr != nil {
		return hdr, types.EncryptionKey{}, auth, newError(terr.Code, "%s", terr.Detail)
	}
	sessionKey := hdr.Key
	authKeys, err := sessionKeys(sessionKey, keyusage.TGS_REQ_PA_TGS_REQ_AP_REQ_AUTHENTICATOR)
	if err != nil {
		return hdr, types.EncryptionKey{}, auth, newError(errorcode.KRB_AP_ERR_BAD_INTEGRITY, "ticket session key: %v", err)
	}
	plain, err := decrypt(ap.EncryptedAuthenticator, authKeys)
	if err != nil {
		return hdr, types.EncryptionKey{}, auth, newError(errorcode.KRB_AP_ERR_BAD_INTEGRITY, "authenticator does not decrypt: %v", err)
	}
	if err := wire.DecodeAuthenticator(plain, &auth); err != nil {
		return hdr, types.EncryptionKey{}, auth, newError(errorcode.KRB_AP_ERR_BAD_INTEGRITY, "malformed authenticator: %v", err)
	}
	if auth.CRealm != hdr.CRealm || !auth.CName.Equal(hdr.CName) {
		return hdr, types.EncryptionKey{}, auth, newError(errorcode.KRB_AP_ERR_BADMATCH, "authenticator client %s does not match ticket client %s", displayName(auth.CName, auth.CRealm), displayName(hdr.CName, hdr.CRealm))
	}
	skew := h.policy.ClockSkew
	if d := auth.CTime.Sub(now); d > skew || d < -skew {
		return hdr, types.EncryptionKey{}, auth, newError(errorcode.KRB_AP_ERR_SKEW, "authenticator time off by %s (max %s)", d.Round(time.Second), skew)
	}
	if kerr := verifyBodyChecksum(auth.Cksum, sessionKey, rawBody); kerr != nil {
		return hdr, types.EncryptionKey{}, auth, kerr
	}
	start := hdr.StartTime
	if start.IsZero() {
		start = hdr.AuthTime
	}
	if flagSet(hdr.Flags, flags.Invalid) || start.After(now.Add(skew)) {
		return hdr, types.EncryptionKey{}, auth, newError(errorcode.KRB_AP_ERR_TKT_NYV, "ticket not yet valid")
	}
	// A ticket being renewed may be past its end time; only renew-till counts.
	if !renew && hdr.EndTime.Before(now) {
		return hdr, types.EncryptionKey{}, auth, newError(errorcode.KRB_AP_ERR_TKT_EXPIRED, "TGT expired at %s", hdr.EndTime.Format(time.RFC3339))
	}
	return hdr, sessionKey, auth, nil
}

// verifyBodyChecksum checks the authenticator's checksum over the raw
// request body. It must be a keyed checksum of the session key's own family:
// an unkeyed or foreign checksum would let anyone who sniffed the AP-REQ
// attach it to a body of their choosing.
func verifyBodyChecksum(ck types.Checksum, key types.EncryptionKey, rawBody []byte) *krbError {
	if ck.CksumType == 0 || len(ck.Checksum) == 0 {
		return newError(errorcode.KRB_AP_ERR_INAPP_CKSUM, "authenticator has no checksum of the request body")
	}
	if want, ok := kcrypto.ChecksumType(key.KeyType); !ok || ck.CksumType != want {
		return newError(errorcode.KRB_AP_ERR_INAPP_CKSUM, "checksum type %d does not match session key enctype %d", ck.CksumType, key.KeyType)
	}
	kc, err := kcrypto.DeriveChecksumKey(key.KeyType, key.KeyValue, keyusage.TGS_REQ_PA_TGS_REQ_AP_REQ_AUTHENTICATOR_CHKSUM)
	if err != nil {
		return newError(errorcode.KRB_AP_ERR_INAPP_CKSUM, "derive checksum key of enctype %d: %v", key.KeyType, err)
	}
	if !kc.VerifyChecksum(rawBody, ck.Checksum) {
		return newError(errorcode.KRB_AP_ERR_MODIFIED, "request body checksum mismatch")
	}
	return nil
}

// renewTicket implements RENEW: a copy of the ticket (same session key,
// authtime and flags) with a new start and a lifetime as long as the
// original's, capped at renew-till and at the request's till (Java refuses
// an end time past the till it sent, which a KDC clock a second ahead
// would otherwise produce). INITIAL is cleared: the new ticket comes
// from the TGS, and services that demand an initial ticket (password
// changes) must not accept a renewed one.
func renewTicket(hdr messages.EncTicketPart, till, now time.Time) (messages.EncTicketPart, *krbError) {
	if !flagSet(hdr.Flags, flags.Renewable) {
		return hdr, newError(errorcode.KDC_ERR_BADOPTION, "ticket is not renewable")
	}
	if !hdr.RenewTill.After(now) {
		return hdr, newError(errorcode.KRB_AP_ERR_TKT_EXPIRED, "renew-till %s has passed", hdr.RenewTill.Format(time.RFC3339))
	}
	start := hdr.StartTime
	if start.IsZero() {
		start = hdr.AuthTime
	}
	now = now.Truncate(time.Second)
	end := now.Add(hdr.EndTime.Sub(start))
	if end.After(hdr.RenewTill) {
		end = hdr.RenewTill
	}
	if !isInfinite(till) && till.Before(end) {
		end = till.UTC().Truncate(time.Second)
	}
	if !end.After(now) {
		return hdr, newError(errorcode.KDC_ERR_NEVER_VALID, "renewed ticket would end at %s, not after now", end.Format(time.RFC3339))
	}
	t := hdr
	t.StartTime = now
	t.EndTime = end
	t.Flags = asn1.BitString{Bytes: append([]byte(nil), hdr.Flags.Bytes...), BitLength: hdr.Flags.BitLength}
	types.UnsetFlag(&t.Flags, flags.Initial)
	return t, nil
}

// authzKey is the key and usage for enc-authorization-data.
type authzKey struct {
	key   types.EncryptionKey
	usage uint32
}

// newServiceTicket builds the EncTicketPart of a new ticket issued from a
// TGT.
func (h *Handler) newServiceTicket(b messages.KDCReqBody, hdr messages.EncTicketPart, service *db.Principal, az authzKey, now time.Time) (messages.EncTicketPart, *krbError) {
	var etp messages.EncTicketPart
	sesEType, ok := selectSessionEType(service, b.EType)
	if !ok {
		return etp, newError(errorcode.KDC_ERR_ETYPE_NOSUPP, "service %s has no key for any requested enctype %v", service.Name, b.EType)
	}
	pol := h.realmPolicy()
	times, kerr := computeTimes(lifetimeRequest{
		now:          now,
		till:         b.Till,
		rtime:        b.RTime,
		renewable:    flagSet(b.KDCOptions, flags.Renewable),
		renewableOK:  flagSet(b.KDCOptions, flags.RenewableOK),
		maxLife:      minLife(pol.MaxLife, service.MaxLife),
		maxRenew:     minLife(pol.MaxRenewableLife, service.MaxRenewableLife),
		noRenew:      service.Attributes.DisallowRenewable,
		parent:       &ticketTimes{end: hdr.EndTime, renewTill: hdr.RenewTill},
		parentRenews: flagSet(hdr.Flags, flags.Renewable),
	})
	if kerr != nil {
		return etp, kerr
	}
	tktFlags, addrs, kerr := tgsTicketFlags(b, hdr, service, times.renewable)
	if kerr != nil {
		return etp, kerr
	}
	authz := hdr.AuthorizationData
	if len(b.EncAuthData.Cipher) > 0 {
		keys, err := sessionKeys(az.key, az.usage)
		if err != nil {
			return etp, newError(errorcode.KRB_AP_ERR_BAD_INTEGRITY, "enc-authorization-data: %v", err)
		}
		plain, err := decrypt(b.EncAuthData, keys)
		if err != nil {
			return etp, newError(errorcode.KRB_AP_ERR_BAD_INTEGRITY, "enc-authorization-data does not decrypt: %v", err)
		}
		ad, err := wire.DecodeAuthorizationData(plain)
		if err != nil {
			return etp, newError(errorcode.KRB_AP_ERR_BAD_INTEGRITY, "malformed enc-authorization-data: %v", err)
		}
		authz = append(append(types.AuthorizationData{}, authz...), ad...)
	}
	sessionKey, err := newSessionKey(h.rand, sesEType)
	if err != nil {
		return etp, newError(errorcode.KRB_ERR_GENERIC, "%v", err)
	}
	return messages.EncTicketPart{
		Flags:             tktFlags,
		Key:               sessionKey,
		CRealm:            hdr.CRealm,
		CName:             hdr.CName,
		Transited:         hdr.Transited,
		AuthTime:          hdr.AuthTime,
		StartTime:         times.start,
		EndTime:           times.end,
		RenewTill:         times.renewTill,
		CAddr:             addrs,
		AuthorizationData: authz,
	}, nil
}

// tgsTicketFlags decides the flags and addresses of a ticket issued from a
// TGT. As in the AS exchange, options 2-5 are honoured exactly or refused
// with KDC_ERR_BADOPTION (MIT's tgsflagrules plus Java's echo check).
func tgsTicketFlags(b messages.KDCReqBody, hdr messages.EncTicketPart, service *db.Principal, renewable bool) (asn1.BitString, types.HostAddresses, *krbError) {
	opt := func(i int) bool { return flagSet(b.KDCOptions, i) }
	tgt := func(i int) bool { return flagSet(hdr.Flags, i) }
	bits := make([]int, 0, 8) // on the stack: at most 8 bits are set
	addrs := hdr.CAddr
	if opt(flags.Forwardable) && tgt(flags.Forwardable) && !service.Attributes.DisallowForwardable {
		bits = append(bits, flags.Forwardable)
	}
	if opt(flags.Forwarded) {
		if !tgt(flags.Forwardable) || service.Attributes.DisallowForwardable {
			return asn1.BitString{}, nil, newError(errorcode.KDC_ERR_BADOPTION, "FORWARDED requested but the TGT is not forwardable")
		}
		bits = append(bits, flags.Forwarded)
		addrs = b.Addresses
	} else if tgt(flags.Forwarded) {
		// RFC 4120 2.6: tickets issued from a forwarded TGT carry FORWARDED.
		bits = append(bits, flags.Forwarded)
	}
	if opt(flags.Proxiable) {
		if !tgt(flags.Proxiable) || service.Attributes.DisallowProxiable {
			return asn1.BitString{}, nil, newError(errorcode.KDC_ERR_BADOPTION, "PROXIABLE requested but the TGT is not proxiable")
		}
		bits = append(bits, flags.Proxiable)
	}
	if opt(flags.Proxy) {
		if !tgt(flags.Proxiable) || len(service.Name) > 7 && service.Name[:7] == "krbtgt/" {
			return asn1.BitString{}, nil, newError(errorcode.KDC_ERR_BADOPTION, "PROXY requested but the TGT is not proxiable or the target is a TGS")
		}
		bits = append(bits, flags.Proxy)
		addrs = b.Addresses
	}
	if opt(flags.AllowPostDate) {
		if !tgt(flags.MayPostDate) {
			return asn1.BitString{}, nil, newError(errorcode.KDC_ERR_BADOPTION, "ALLOW-POSTDATE requested but the TGT may not be postdated")
		}
		bits = append(bits, flags.MayPostDate)
	}
	if renewable {
		bits = append(bits, flags.Renewable)
	}
	if tgt(flags.PreAuthent) {
		bits = append(bits, flags.PreAuthent)
	}
	if tgt(flags.HWAuthent) {
		bits = append(bits, flags.HWAuthent)
	}
	return newFlags(bits...), addrs, nil
}
