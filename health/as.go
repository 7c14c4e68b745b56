package health

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana"
	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/msgtype"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/iana/patype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// ticketLifetime is the lifetime the probe asks for; its tickets are thrown
// away, so short is polite.
const ticketLifetime = 10 * time.Minute

// Steps of the kinit probe, as reported in CheckError.Step.
const (
	stepAS        = "as-req"
	stepASPreauth = "as-req+preauth"
	stepTGS       = "tgs-req"
	stepKeytab    = "keytab"
)

// asExchange performs the AS exchange the way kinit does: a first AS-REQ
// without padata; if the KDC answers PREAUTH_REQUIRED, a second one with
// PA-ENC-TIMESTAMP under the key the KDC selected in PA-ETYPE-INFO2. It
// returns the TGT and its session key once the reply decrypts and matches
// the request.
func (p *KinitProbe) asExchange(ctx context.Context, keys clientKeys) (messages.Ticket, types.EncryptionKey, error) {
	etypes := keys.etypes()
	if len(etypes) == 0 {
		return messages.Ticket{}, types.EncryptionKey{}, failure(KindConfig, stepKeytab,
			fmt.Errorf("keytab %s has no supported key for %s", p.keytabPath, p.principal))
	}
	step := stepAS
	req := p.newASReq(etypes, nil)
	reply, err := p.send(ctx, step, &req)
	if err != nil {
		return messages.Ticket{}, types.EncryptionKey{}, err
	}
	kerr, err := decodeReply(reply, tagASRep, step)
	if err != nil {
		return messages.Ticket{}, types.EncryptionKey{}, err
	}
	if kerr != nil {
		if kerr.msg.ErrorCode != errorcode.KDC_ERR_PREAUTH_REQUIRED {
			return messages.Ticket{}, types.EncryptionKey{}, kerr.asError(step)
		}
		step = stepASPreauth
		pa, err := encTimestamp(kerr.msg.EData, keys)
		if err != nil {
			return messages.Ticket{}, types.EncryptionKey{}, wrapStep(err, step)
		}
		req = p.newASReq(etypes, types.PADataSequence{pa})
		if reply, err = p.send(ctx, step, &req); err != nil {
			return messages.Ticket{}, types.EncryptionKey{}, err
		}
		if kerr, err = decodeReply(reply, tagASRep, step); err != nil {
			return messages.Ticket{}, types.EncryptionKey{}, err
		}
		if kerr != nil {
			return messages.Ticket{}, types.EncryptionKey{}, kerr.asError(step)
		}
	}
	return p.readASRep(reply, &req, keys, step)
}

// readASRep decodes and verifies an AS-REP (reply starts with its tag).
func (p *KinitProbe) readASRep(reply []byte, req *messages.ASReq, keys clientKeys, step string) (messages.Ticket, types.EncryptionKey, error) {
	var rep messages.ASRep
	if err := rep.Unmarshal(reply); err != nil {
		return messages.Ticket{}, types.EncryptionKey{}, failure(KindBadReply, step, fmt.Errorf("decode AS-REP: %w", err))
	}
	enc, err := p.verifyASRep(&rep, req, keys)
	if err != nil {
		return messages.Ticket{}, types.EncryptionKey{}, wrapStep(err, step)
	}
	return rep.Ticket, enc.Key, nil
}

func (p *KinitProbe) newASReq(etypes []int32, pa types.PADataSequence) messages.ASReq {
	return messages.ASReq{KDCReqFields: messages.KDCReqFields{
		PVNO:    iana.PVNO,
		MsgType: msgtype.KRB_AS_REQ,
		PAData:  pa,
		ReqBody: messages.KDCReqBody{
			KDCOptions: types.NewKrbFlags(),
			CName:      p.cname,
			Realm:      p.realm,
			SName:      types.PrincipalName{NameType: nametype.KRB_NT_SRV_INST, NameString: []string{"krbtgt", p.realm}},
			// KerberosTime must be UTC: gokrb5 marshals other zones with an
			// offset, which is invalid.
			Till:  time.Now().Add(ticketLifetime).UTC(),
			Nonce: newNonce(),
			EType: etypes,
		},
	}}
}

// newNonce returns a nonce in [0, 2^31), the range every KDC accepts. It
// only has to be unpredictable enough to match replies to requests.
func newNonce() int { return int(rand.Uint32() >> 1) }

func (p *KinitProbe) send(ctx context.Context, step string, req *messages.ASReq) ([]byte, error) {
	b, err := req.Marshal()
	if err != nil {
		return nil, failure(KindConfig, step, fmt.Errorf("encode AS-REQ: %w", err))
	}
	return exchange(ctx, p.transport, p.kdc, step, b)
}

// encTimestamp builds PA-ENC-TIMESTAMP from a PREAUTH_REQUIRED e-data. The
// salt in PA-ETYPE-INFO2 only matters to password clients: a keytab holds
// the derived key, so only the enctype choice is taken from the KDC.
func encTimestamp(edata []byte, keys clientKeys) (types.PAData, error) {
	var pas types.PADataSequence
	if err := pas.Unmarshal(edata); err != nil {
		return types.PAData{}, failure(KindBadReply, "", fmt.Errorf("decode PREAUTH_REQUIRED e-data: %w", err))
	}
	offered, err := offeredEtypes(pas)
	if err != nil {
		return types.PAData{}, failure(KindBadReply, "", err)
	}
	if len(offered) == 0 {
		// No hint: RFC 4120 §5.2.7.5 lets the client use its preferred key.
		offered = keys.etypes()
	}
	var k keyEntry
	for _, et := range offered {
		if k, err = keys.key(et, 0); err == nil {
			break
		}
	}
	if err != nil {
		return types.PAData{}, failure(KindConfig, "", fmt.Errorf("KDC offers enctypes %v, keytab has %v", offered, keys.etypes()))
	}
	ts, err := types.GetPAEncTSEncAsnMarshalled()
	if err != nil {
		return types.PAData{}, failure(KindConfig, "", fmt.Errorf("encode PA-ENC-TS-ENC: %w", err))
	}
	ed, err := crypto.GetEncryptedData(ts, k.key, keyusage.AS_REQ_PA_ENC_TIMESTAMP, k.kvno)
	if err != nil {
		return types.PAData{}, failure(KindConfig, "", fmt.Errorf("encrypt timestamp: %w", err))
	}
	b, err := ed.Marshal()
	if err != nil {
		return types.PAData{}, failure(KindConfig, "", fmt.Errorf("encode PA-ENC-TIMESTAMP: %w", err))
	}
	return types.PAData{PADataType: patype.PA_ENC_TIMESTAMP, PADataValue: b}, nil
}

// offeredEtypes lists the enctypes of PA-ETYPE-INFO2, or of the older
// PA-ETYPE-INFO when INFO2 is absent (RFC 4120 §5.2.7.5 order of preference).
func offeredEtypes(pas types.PADataSequence) ([]int32, error) {
	var info1 []int32
	for _, pa := range pas {
		switch pa.PADataType {
		case patype.PA_ETYPE_INFO2:
			info, err := pa.GetETypeInfo2()
			if err != nil {
				return nil, fmt.Errorf("decode PA-ETYPE-INFO2: %w", err)
			}
			out := make([]int32, 0, len(info))
			for _, e := range info {
				out = append(out, e.EType)
			}
			return out, nil
		case patype.PA_ETYPE_INFO:
			info, err := pa.GetETypeInfo()
			if err != nil {
				return nil, fmt.Errorf("decode PA-ETYPE-INFO: %w", err)
			}
			for _, e := range info {
				info1 = append(info1, e.EType)
			}
		}
	}
	return info1, nil
}

// verifyASRep decrypts the AS-REP with the client key and checks that it
// answers our request (RFC 4120 §3.1.5): nonce, client and server names.
func (p *KinitProbe) verifyASRep(rep *messages.ASRep, req *messages.ASReq, keys clientKeys) (messages.EncKDCRepPart, error) {
	var enc messages.EncKDCRepPart
	k, err := keys.key(rep.EncPart.EType, rep.EncPart.KVNO)
	if err != nil {
		return enc, failure(KindConfig, "", fmt.Errorf("AS-REP is encrypted with enctype %d kvno %d (stale keytab?): %w",
			rep.EncPart.EType, rep.EncPart.KVNO, err))
	}
	plain, err := decrypt(rep.EncPart, k.key, keyusage.AS_REP_ENCPART)
	if err != nil {
		return enc, failure(KindBadReply, "", fmt.Errorf("AS-REP does not decrypt with the keytab key: %w", err))
	}
	if err := enc.Unmarshal(plain); err != nil {
		return enc, failure(KindBadReply, "", fmt.Errorf("decode AS-REP enc-part: %w", err))
	}
	switch {
	case enc.Nonce != req.ReqBody.Nonce:
		return enc, failure(KindBadReply, "", fmt.Errorf("AS-REP nonce %d, want %d", enc.Nonce, req.ReqBody.Nonce))
	case !rep.CName.Equal(p.cname) || rep.CRealm != p.realm:
		return enc, failure(KindBadReply, "", fmt.Errorf("AS-REP is for %s@%s, want %s",
			rep.CName.PrincipalNameString(), rep.CRealm, p.principal))
	case !enc.SName.Equal(req.ReqBody.SName) || enc.SRealm != p.realm:
		return enc, failure(KindBadReply, "", fmt.Errorf("AS-REP server is %s@%s, want krbtgt/%s@%s",
			enc.SName.PrincipalNameString(), enc.SRealm, p.realm, p.realm))
	}
	return enc, nil
}
