package wire

import (
	"fmt"

	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/kdcha/kdcha/kdc/internal/der"
)

// APPLICATION tags of the messages decoded here (RFC 4120).
const (
	appAuthenticator = 2
	appASReq         = 10
	appTGSReq        = 12
	appAPReq         = 14
)

// DecodeASReq decodes an AS-REQ (APPLICATION 10). r aliases b (see the
// package notes on allocation).
func DecodeASReq(b []byte, r *messages.ASReq) error {
	_, err := decodeKDCReq(b, appASReq, &r.KDCReqFields)
	if err != nil {
		return fmt.Errorf("AS-REQ: %w", err)
	}
	return nil
}

// DecodeTGSReq decodes a TGS-REQ (APPLICATION 12) and returns its
// KDC-REQ-BODY exactly as received (the SEQUENCE, tag and length
// included). The authenticator's checksum covers those bytes, and
// re-encoding the decoded body would change them whenever the client's
// encoder and ours differ, so the checksum is verified over them, as MIT
// does (fetch_asn1_field). r and the body alias b.
func DecodeTGSReq(b []byte, r *messages.TGSReq) (rawBody []byte, err error) {
	rawBody, err = decodeKDCReq(b, appTGSReq, &r.KDCReqFields)
	if err != nil {
		return nil, fmt.Errorf("TGS-REQ: %w", err)
	}
	return rawBody, nil
}

func decodeKDCReq(b []byte, app int, r *messages.KDCReqFields) ([]byte, error) {
	d := decoder{buf: b}
	f, err := application(b, app)
	if err != nil {
		return nil, err
	}
	pvno, err := f.int(1, minInt32, maxInt32)
	if err != nil {
		return nil, fmt.Errorf("pvno: %w", err)
	}
	msgType, err := f.int(2, minInt32, maxInt32)
	if err != nil {
		return nil, fmt.Errorf("msg-type: %w", err)
	}
	if msgType != int64(app) {
		return nil, fmt.Errorf("msg-type %d in APPLICATION %d", msgType, app)
	}
	r.PVNO, r.MsgType = int(pvno), int(msgType)
	if e, ok, err := f.next(3); err != nil {
		return nil, fmt.Errorf("padata: %w", err)
	} else if ok {
		err := each(e, MaxPAData, "padata", func(n int) { r.PAData = make(types.PADataSequence, n) },
			func(i int, e der.Element) (err error) {
				r.PAData[i].PADataType, r.PAData[i].PADataValue, err = typedValue(e, 1)
				return err
			})
		if err != nil {
			return nil, fmt.Errorf("padata: %w", err)
		}
	}
	e, err := f.need(4)
	if err != nil {
		return nil, fmt.Errorf("req-body: %w", err)
	}
	raw := f.raw
	if err := d.reqBody(e, &r.ReqBody); err != nil {
		return nil, fmt.Errorf("req-body: %w", err)
	}
	return raw, f.end()
}

func (d *decoder) reqBody(e der.Element, b *messages.KDCReqBody) error {
	f, err := sequence(e)
	if err != nil {
		return err
	}
	if b.KDCOptions, err = f.flags(0); err != nil {
		return fmt.Errorf("kdc-options: %w", err)
	}
	if err := d.nameField(&f, 1, true, &b.CName); err != nil {
		return fmt.Errorf("cname: %w", err)
	}
	if b.Realm, err = d.realm(&f, 2); err != nil {
		return fmt.Errorf("realm: %w", err)
	}
	if err := d.nameField(&f, 3, true, &b.SName); err != nil {
		return fmt.Errorf("sname: %w", err)
	}
	if b.From, err = f.time(4, true); err != nil {
		return fmt.Errorf("from: %w", err)
	}
	if b.Till, err = f.time(5, false); err != nil {
		return fmt.Errorf("till: %w", err)
	}
	if b.RTime, err = f.time(6, true); err != nil {
		return fmt.Errorf("rtime: %w", err)
	}
	nonce, err := f.int(7, minUInt32, maxUInt32)
	if err != nil {
		return fmt.Errorf("nonce: %w", err)
	}
	b.Nonce = int(nonce)
	et, err := f.need(8)
	if err != nil {
		return fmt.Errorf("etype: %w", err)
	}
	err = each(et, MaxETypes, "etypes", func(n int) { b.EType = make([]int32, n) },
		func(i int, e der.Element) error {
			v, err := integer(e, minInt32, maxInt32)
			b.EType[i] = int32(v)
			return err
		})
	if err != nil {
		return fmt.Errorf("etype: %w", err)
	}
	if e, ok, err := f.next(9); err != nil {
		return fmt.Errorf("addresses: %w", err)
	} else if ok {
		if b.Addresses, err = hostAddresses(e); err != nil {
			return fmt.Errorf("addresses: %w", err)
		}
	}
	if err := f.encryptedData(10, true, &b.EncAuthData); err != nil {
		return fmt.Errorf("enc-authorization-data: %w", err)
	}
	if e, ok, err := f.next(11); err != nil {
		return fmt.Errorf("additional-tickets: %w", err)
	} else if ok {
		err := each(e, MaxTickets, "tickets", func(n int) { b.AdditionalTickets = make([]messages.Ticket, n) },
			func(i int, e der.Element) error { return d.ticket(e, &b.AdditionalTickets[i]) })
		if err != nil {
			return fmt.Errorf("additional-tickets: %w", err)
		}
	}
	return f.end()
}

// DecodeAPReq decodes an AP-REQ (APPLICATION 14), as carried in
// PA-TGS-REQ. a aliases b.
func DecodeAPReq(b []byte, a *messages.APReq) error {
	d := decoder{buf: b}
	if err := d.apReq(b, a); err != nil {
		return fmt.Errorf("AP-REQ: %w", err)
	}
	return nil
}

func (d *decoder) apReq(b []byte, a *messages.APReq) error {
	f, err := application(b, appAPReq)
	if err != nil {
		return err
	}
	pvno, err := f.int(0, minInt32, maxInt32)
	if err != nil {
		return fmt.Errorf("pvno: %w", err)
	}
	msgType, err := f.int(1, minInt32, maxInt32)
	if err != nil {
		return fmt.Errorf("msg-type: %w", err)
	}
	if msgType != appAPReq {
		return fmt.Errorf("msg-type %d in APPLICATION %d", msgType, appAPReq)
	}
	a.PVNO, a.MsgType = int(pvno), int(msgType)
	if a.APOptions, err = f.flags(2); err != nil {
		return fmt.Errorf("ap-options: %w", err)
	}
	e, err := f.need(3)
	if err != nil {
		return fmt.Errorf("ticket: %w", err)
	}
	if err := d.ticket(e, &a.Ticket); err != nil {
		return err
	}
	if err := f.encryptedData(4, false, &a.EncryptedAuthenticator); err != nil {
		return fmt.Errorf("authenticator: %w", err)
	}
	return f.end()
}

// DecodeTicket decodes a Ticket (APPLICATION 1). t aliases b.
func DecodeTicket(b []byte, t *messages.Ticket) error {
	d := decoder{buf: b}
	e, err := one(b)
	if err == nil {
		err = d.ticket(e, t)
	}
	return err
}

func (d *decoder) ticket(e der.Element, t *messages.Ticket) error {
	f, err := applicationOf(e, appTicket)
	if err != nil {
		return fmt.Errorf("ticket: %w", err)
	}
	vno, err := f.int(0, minInt32, maxInt32)
	if err != nil {
		return fmt.Errorf("ticket tkt-vno: %w", err)
	}
	t.TktVNO = int(vno)
	if t.Realm, err = d.realm(&f, 1); err != nil {
		return fmt.Errorf("ticket realm: %w", err)
	}
	if err := d.nameField(&f, 2, false, &t.SName); err != nil {
		return fmt.Errorf("ticket sname: %w", err)
	}
	if err := f.encryptedData(3, false, &t.EncPart); err != nil {
		return fmt.Errorf("ticket enc-part: %w", err)
	}
	if err := f.end(); err != nil {
		return fmt.Errorf("ticket: %w", err)
	}
	return nil
}

// DecodeEncTicketPart decodes the plaintext of a ticket's enc-part
// (APPLICATION 3). p aliases b.
func DecodeEncTicketPart(b []byte, p *messages.EncTicketPart) error {
	d := decoder{buf: b}
	if err := d.encTicketPart(b, p); err != nil {
		return fmt.Errorf("EncTicketPart: %w", err)
	}
	return nil
}

func (d *decoder) encTicketPart(b []byte, p *messages.EncTicketPart) error {
	f, err := application(b, appEncTicketPart)
	if err != nil {
		return err
	}
	if p.Flags, err = f.flags(0); err != nil {
		return fmt.Errorf("flags: %w", err)
	}
	e, err := f.need(1)
	if err != nil {
		return fmt.Errorf("key: %w", err)
	}
	if p.Key.KeyType, p.Key.KeyValue, err = typedValue(e, 0); err != nil {
		return fmt.Errorf("key: %w", err)
	}
	if p.CRealm, err = d.realm(&f, 2); err != nil {
		return fmt.Errorf("crealm: %w", err)
	}
	if err := d.nameField(&f, 3, false, &p.CName); err != nil {
		return fmt.Errorf("cname: %w", err)
	}
	if e, err = f.need(4); err != nil {
		return fmt.Errorf("transited: %w", err)
	}
	if p.Transited.TRType, p.Transited.Contents, err = typedValue(e, 0); err != nil {
		return fmt.Errorf("transited: %w", err)
	}
	if p.AuthTime, err = f.time(5, false); err != nil {
		return fmt.Errorf("authtime: %w", err)
	}
	if p.StartTime, err = f.time(6, true); err != nil {
		return fmt.Errorf("starttime: %w", err)
	}
	if p.EndTime, err = f.time(7, false); err != nil {
		return fmt.Errorf("endtime: %w", err)
	}
	if p.RenewTill, err = f.time(8, true); err != nil {
		return fmt.Errorf("renew-till: %w", err)
	}
	if e, ok, err := f.next(9); err != nil {
		return fmt.Errorf("caddr: %w", err)
	} else if ok {
		if p.CAddr, err = hostAddresses(e); err != nil {
			return fmt.Errorf("caddr: %w", err)
		}
	}
	if e, ok, err := f.next(10); err != nil {
		return fmt.Errorf("authorization-data: %w", err)
	} else if ok {
		if p.AuthorizationData, err = authorizationData(e); err != nil {
			return fmt.Errorf("authorization-data: %w", err)
		}
	}
	return f.end()
}

// DecodeAuthenticator decodes the plaintext of an AP-REQ's authenticator
// (APPLICATION 2). a aliases b.
func DecodeAuthenticator(b []byte, a *types.Authenticator) error {
	d := decoder{buf: b}
	if err := d.authenticator(b, a); err != nil {
		return fmt.Errorf("Authenticator: %w", err)
	}
	return nil
}

func (d *decoder) authenticator(b []byte, a *types.Authenticator) error {
	f, err := application(b, appAuthenticator)
	if err != nil {
		return err
	}
	avno, err := f.int(0, minInt32, maxInt32)
	if err != nil {
		return fmt.Errorf("authenticator-vno: %w", err)
	}
	a.AVNO = int(avno)
	if a.CRealm, err = d.realm(&f, 1); err != nil {
		return fmt.Errorf("crealm: %w", err)
	}
	if err := d.nameField(&f, 2, false, &a.CName); err != nil {
		return fmt.Errorf("cname: %w", err)
	}
	if e, ok, err := f.next(3); err != nil {
		return fmt.Errorf("cksum: %w", err)
	} else if ok {
		if a.Cksum.CksumType, a.Cksum.Checksum, err = typedValue(e, 0); err != nil {
			return fmt.Errorf("cksum: %w", err)
		}
	}
	cusec, err := f.int(4, minInt32, maxInt32)
	if err != nil {
		return fmt.Errorf("cusec: %w", err)
	}
	a.Cusec = int(cusec)
	if a.CTime, err = f.time(5, false); err != nil {
		return fmt.Errorf("ctime: %w", err)
	}
	if e, ok, err := f.next(6); err != nil {
		return fmt.Errorf("subkey: %w", err)
	} else if ok {
		if a.SubKey.KeyType, a.SubKey.KeyValue, err = typedValue(e, 0); err != nil {
			return fmt.Errorf("subkey: %w", err)
		}
	}
	if a.SeqNumber, err = f.optInt(7, minUInt32, maxUInt32); err != nil {
		return fmt.Errorf("seq-number: %w", err)
	}
	if e, ok, err := f.next(8); err != nil {
		return fmt.Errorf("authorization-data: %w", err)
	} else if ok {
		if a.AuthorizationData, err = authorizationData(e); err != nil {
			return fmt.Errorf("authorization-data: %w", err)
		}
	}
	return f.end()
}

// DecodeEncryptedData decodes an EncryptedData (the PA-ENC-TIMESTAMP
// value). ed aliases b.
func DecodeEncryptedData(b []byte, ed *types.EncryptedData) error {
	e, err := one(b)
	if err == nil {
		err = encryptedData(e, ed)
	}
	if err != nil {
		return fmt.Errorf("EncryptedData: %w", err)
	}
	return nil
}

// DecodePAEncTSEnc decodes the plaintext of PA-ENC-TIMESTAMP.
func DecodePAEncTSEnc(b []byte, ts *types.PAEncTSEnc) error {
	e, err := one(b)
	if err == nil {
		err = paEncTSEnc(e, ts)
	}
	if err != nil {
		return fmt.Errorf("PA-ENC-TS-ENC: %w", err)
	}
	return nil
}

func paEncTSEnc(e der.Element, ts *types.PAEncTSEnc) error {
	f, err := sequence(e)
	if err != nil {
		return err
	}
	if ts.PATimestamp, err = f.time(0, false); err != nil {
		return fmt.Errorf("patimestamp: %w", err)
	}
	usec, err := f.optInt(1, minInt32, maxInt32)
	if err != nil {
		return fmt.Errorf("pausec: %w", err)
	}
	ts.PAUSec = int(usec)
	return f.end()
}

// DecodeAuthorizationData decodes AuthorizationData (the plaintext of
// enc-authorization-data). The entries alias b.
func DecodeAuthorizationData(b []byte) (types.AuthorizationData, error) {
	e, err := one(b)
	if err != nil {
		return nil, fmt.Errorf("AuthorizationData: %w", err)
	}
	ad, err := authorizationData(e)
	if err != nil {
		return nil, fmt.Errorf("AuthorizationData: %w", err)
	}
	return ad, nil
}
