package health

import (
	"context"
	"fmt"

	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// tgsExchange asks for a ticket to the configured service with the TGT and
// checks that the reply decrypts with the TGT session key and answers our
// request. It proves the KDC can read a service principal and issue tickets,
// not only TGTs.
func (p *KinitProbe) tgsExchange(ctx context.Context, tgt messages.Ticket, sessionKey types.EncryptionKey) error {
	req, err := messages.NewTGSReq(p.cname, p.realm, p.krbConf, tgt, sessionKey, p.service, false)
	if err != nil {
		return failure(KindConfig, stepTGS, fmt.Errorf("build TGS-REQ: %w", err))
	}
	b, err := req.Marshal()
	if err != nil {
		return failure(KindConfig, stepTGS, fmt.Errorf("encode TGS-REQ: %w", err))
	}
	reply, err := exchange(ctx, p.transport, p.kdc, stepTGS, b)
	if err != nil {
		return err
	}
	kerr, err := decodeReply(reply, tagTGSRep, stepTGS)
	if err != nil {
		return err
	}
	if kerr != nil {
		return kerr.asError(stepTGS)
	}
	var rep messages.TGSRep
	if err := rep.Unmarshal(reply); err != nil {
		return failure(KindBadReply, stepTGS, fmt.Errorf("decode TGS-REP: %w", err))
	}
	// No authenticator subkey was sent, so the reply is under the TGT
	// session key (RFC 4120 §5.4.2, key usage 8).
	plain, err := decrypt(rep.EncPart, sessionKey, keyusage.TGS_REP_ENCPART_SESSION_KEY)
	if err != nil {
		return failure(KindBadReply, stepTGS, fmt.Errorf("TGS-REP does not decrypt with the TGT session key: %w", err))
	}
	var enc messages.EncKDCRepPart
	if err := enc.Unmarshal(plain); err != nil {
		return failure(KindBadReply, stepTGS, fmt.Errorf("decode TGS-REP enc-part: %w", err))
	}
	switch {
	case enc.Nonce != req.ReqBody.Nonce:
		return failure(KindBadReply, stepTGS, fmt.Errorf("TGS-REP nonce %d, want %d", enc.Nonce, req.ReqBody.Nonce))
	case !enc.SName.Equal(p.service) || enc.SRealm != p.realm:
		return failure(KindBadReply, stepTGS, fmt.Errorf("TGS-REP server is %s@%s, want %s@%s",
			enc.SName.PrincipalNameString(), enc.SRealm, p.service.PrincipalNameString(), p.realm))
	}
	return nil
}
