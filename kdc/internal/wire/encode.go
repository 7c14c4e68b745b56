// Package wire encodes the messages the KDC sends (tickets, AS-REP,
// TGS-REP, KRB-ERROR and the parts inside them) in DER without reflection,
// appending to a caller's buffer, and decodes those it receives.
//
// The messages are gokrb5's types, and the output is exactly what gokrb5's
// Marshal methods (gofork/encoding/asn1 reflection) produce for the same
// values, quirks included: an optional field is left out when it holds its
// type's zero value (a nil slice, not an empty one), and so is a zero
// element of an optional SEQUENCE OF, because the reflection encoder passes
// the field's "optional" on to the elements. Fields that are not part of
// the wire format (Ticket.DecryptedEncPart, KDCRepFields.DecryptedEncPart)
// are ignored. The tests hold it to that: golden replies and a fuzz target
// compare it with the reflection encoder.
//
// It also decodes, into the same types, the messages the KDC receives
// (decode.go, requests.go): AS-REQ and TGS-REQ and what they carry.
package wire

import (
	"time"

	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/kdcha/kdcha/kdc/internal/der"
)

// APPLICATION tags of the messages encoded here (RFC 4120).
const (
	appTicket        = 1
	appEncTicketPart = 3
	appASRep         = 11
	appTGSRep        = 13
	appKRBError      = 30
)

// AppendTicket appends a Ticket (APPLICATION 1).
func AppendTicket(b []byte, t *messages.Ticket) []byte {
	b, app := der.Open(b, der.Application(appTicket))
	b, seq := der.Open(b, der.TagSequence)
	b = intField(b, 0, int64(t.TktVNO))
	b = stringField(b, 1, t.Realm)
	b, f := der.Open(b, der.Context(2))
	b = appendPrincipalName(b, &t.SName)
	b = der.Close(b, f)
	b, f = der.Open(b, der.Context(3))
	b = appendEncryptedData(b, &t.EncPart)
	b = der.Close(b, f)
	b = der.Close(b, seq)
	return der.Close(b, app)
}

// AppendEncTicketPart appends an EncTicketPart (APPLICATION 3), the
// plaintext of a ticket's enc-part.
func AppendEncTicketPart(b []byte, p *messages.EncTicketPart) ([]byte, error) {
	var err error
	b, app := der.Open(b, der.Application(appEncTicketPart))
	b, seq := der.Open(b, der.TagSequence)
	b = bitStringField(b, 0, p.Flags.Bytes, p.Flags.BitLength)
	b, f := der.Open(b, der.Context(1))
	b = appendEncryptionKey(b, &p.Key)
	b = der.Close(b, f)
	b = stringField(b, 2, p.CRealm)
	b, f = der.Open(b, der.Context(3))
	b = appendPrincipalName(b, &p.CName)
	b = der.Close(b, f)
	b, f = der.Open(b, der.Context(4))
	b, s := der.Open(b, der.TagSequence)
	b = intField(b, 0, int64(p.Transited.TRType))
	b = octetField(b, 1, p.Transited.Contents)
	b = der.Close(b, s)
	b = der.Close(b, f)
	if b, err = timeField(b, 5, p.AuthTime); err != nil {
		return b, err
	}
	if b, err = optTimeField(b, 6, p.StartTime); err != nil {
		return b, err
	}
	if b, err = timeField(b, 7, p.EndTime); err != nil {
		return b, err
	}
	if b, err = optTimeField(b, 8, p.RenewTill); err != nil {
		return b, err
	}
	b = optHostAddressesField(b, 9, p.CAddr)
	if p.AuthorizationData != nil {
		b, f = der.Open(b, der.Context(10))
		b, s = der.Open(b, der.TagSequence)
		for i := range p.AuthorizationData {
			e := &p.AuthorizationData[i]
			if e.ADType == 0 && e.ADData == nil {
				continue // a zero element of an optional SEQUENCE OF
			}
			var es int
			b, es = der.Open(b, der.TagSequence)
			b = intField(b, 0, int64(e.ADType))
			b = octetField(b, 1, e.ADData)
			b = der.Close(b, es)
		}
		b = der.Close(b, s)
		b = der.Close(b, f)
	}
	b = der.Close(b, seq)
	return der.Close(b, app), nil
}

// AppendEncKDCRepPart appends an EncKDCRepPart under APPLICATION appTag:
// 25 for EncASRepPart, 26 for EncTGSRepPart.
func AppendEncKDCRepPart(b []byte, p *messages.EncKDCRepPart, appTag int) ([]byte, error) {
	var err error
	b, app := der.Open(b, der.Application(appTag))
	b, seq := der.Open(b, der.TagSequence)
	b, f := der.Open(b, der.Context(0))
	b = appendEncryptionKey(b, &p.Key)
	b = der.Close(b, f)
	b, f = der.Open(b, der.Context(1))
	b, s := der.Open(b, der.TagSequence)
	for i := range p.LastReqs {
		var es int
		b, es = der.Open(b, der.TagSequence)
		b = intField(b, 0, int64(p.LastReqs[i].LRType))
		if b, err = timeField(b, 1, p.LastReqs[i].LRValue); err != nil {
			return b, err
		}
		b = der.Close(b, es)
	}
	b = der.Close(b, s)
	b = der.Close(b, f)
	b = intField(b, 2, int64(p.Nonce))
	if b, err = optTimeField(b, 3, p.KeyExpiration); err != nil {
		return b, err
	}
	b = bitStringField(b, 4, p.Flags.Bytes, p.Flags.BitLength)
	if b, err = timeField(b, 5, p.AuthTime); err != nil {
		return b, err
	}
	if b, err = optTimeField(b, 6, p.StartTime); err != nil {
		return b, err
	}
	if b, err = timeField(b, 7, p.EndTime); err != nil {
		return b, err
	}
	if b, err = optTimeField(b, 8, p.RenewTill); err != nil {
		return b, err
	}
	b = stringField(b, 9, p.SRealm)
	b, f = der.Open(b, der.Context(10))
	b = appendPrincipalName(b, &p.SName)
	b = der.Close(b, f)
	b = optHostAddressesField(b, 11, p.CAddr)
	b = optPADataField(b, 12, p.EncPAData)
	b = der.Close(b, seq)
	return der.Close(b, app), nil
}

// AppendASRep appends an AS-REP (APPLICATION 11).
func AppendASRep(b []byte, r *messages.ASRep) []byte {
	return appendKDCRep(b, &r.KDCRepFields, appASRep)
}

// AppendTGSRep appends a TGS-REP (APPLICATION 13).
func AppendTGSRep(b []byte, r *messages.TGSRep) []byte {
	return appendKDCRep(b, &r.KDCRepFields, appTGSRep)
}

func appendKDCRep(b []byte, r *messages.KDCRepFields, appTag int) []byte {
	b, app := der.Open(b, der.Application(appTag))
	b, seq := der.Open(b, der.TagSequence)
	b = intField(b, 0, int64(r.PVNO))
	b = intField(b, 1, int64(r.MsgType))
	b = optPADataField(b, 2, r.PAData)
	b = stringField(b, 3, r.CRealm)
	b, f := der.Open(b, der.Context(4))
	b = appendPrincipalName(b, &r.CName)
	b = der.Close(b, f)
	b, f = der.Open(b, der.Context(5))
	b = AppendTicket(b, &r.Ticket)
	b = der.Close(b, f)
	b, f = der.Open(b, der.Context(6))
	b = appendEncryptedData(b, &r.EncPart)
	b = der.Close(b, f)
	b = der.Close(b, seq)
	return der.Close(b, app)
}

// AppendKRBError appends a KRB-ERROR (APPLICATION 30).
func AppendKRBError(b []byte, e *messages.KRBError) ([]byte, error) {
	var err error
	b, app := der.Open(b, der.Application(appKRBError))
	b, seq := der.Open(b, der.TagSequence)
	b = intField(b, 0, int64(e.PVNO))
	b = intField(b, 1, int64(e.MsgType))
	if b, err = optTimeField(b, 2, e.CTime); err != nil {
		return b, err
	}
	if e.Cusec != 0 {
		b = intField(b, 3, int64(e.Cusec))
	}
	if b, err = timeField(b, 4, e.STime); err != nil {
		return b, err
	}
	b = intField(b, 5, int64(e.Susec))
	b = intField(b, 6, int64(e.ErrorCode))
	if e.CRealm != "" {
		b = stringField(b, 7, e.CRealm)
	}
	var f int
	if e.CName.NameType != 0 || e.CName.NameString != nil {
		b, f = der.Open(b, der.Context(8))
		b = appendPrincipalName(b, &e.CName)
		b = der.Close(b, f)
	}
	b = stringField(b, 9, e.Realm)
	b, f = der.Open(b, der.Context(10))
	b = appendPrincipalName(b, &e.SName)
	b = der.Close(b, f)
	if e.EText != "" {
		b = stringField(b, 11, e.EText)
	}
	if e.EData != nil {
		b = octetField(b, 12, e.EData)
	}
	b = der.Close(b, seq)
	return der.Close(b, app), nil
}

// AppendETypeInfo2 appends ETYPE-INFO2 (the value of PA-ETYPE-INFO2).
func AppendETypeInfo2(b []byte, info types.ETypeInfo2) []byte {
	b, seq := der.Open(b, der.TagSequence)
	for i := range info {
		e := &info[i]
		var es int
		b, es = der.Open(b, der.TagSequence)
		b = intField(b, 0, int64(e.EType))
		if e.Salt != "" {
			b = stringField(b, 1, e.Salt)
		}
		if e.S2KParams != nil {
			b = octetField(b, 2, e.S2KParams)
		}
		b = der.Close(b, es)
	}
	return der.Close(b, seq)
}

// AppendMethodData appends METHOD-DATA (a SEQUENCE OF PA-DATA, every
// element written).
func AppendMethodData(b []byte, md types.MethodData) []byte {
	b, seq := der.Open(b, der.TagSequence)
	for i := range md {
		b = appendPAData(b, &md[i])
	}
	return der.Close(b, seq)
}

func appendPAData(b []byte, pa *types.PAData) []byte {
	b, s := der.Open(b, der.TagSequence)
	b = intField(b, 1, int64(pa.PADataType))
	b = octetField(b, 2, pa.PADataValue)
	return der.Close(b, s)
}

// optPADataField writes an optional SEQUENCE OF PA-DATA field: absent when
// nil, and zero elements left out.
func optPADataField(b []byte, tag int, pas []types.PAData) []byte {
	if pas == nil {
		return b
	}
	b, f := der.Open(b, der.Context(tag))
	b, s := der.Open(b, der.TagSequence)
	for i := range pas {
		if pas[i].PADataType == 0 && pas[i].PADataValue == nil {
			continue
		}
		b = appendPAData(b, &pas[i])
	}
	b = der.Close(b, s)
	return der.Close(b, f)
}

// optHostAddressesField writes an optional HostAddresses field: absent
// when nil, and zero elements left out.
func optHostAddressesField(b []byte, tag int, addrs []types.HostAddress) []byte {
	if addrs == nil {
		return b
	}
	b, f := der.Open(b, der.Context(tag))
	b, s := der.Open(b, der.TagSequence)
	for i := range addrs {
		a := &addrs[i]
		if a.AddrType == 0 && a.Address == nil {
			continue
		}
		var es int
		b, es = der.Open(b, der.TagSequence)
		b = intField(b, 0, int64(a.AddrType))
		b = octetField(b, 1, a.Address)
		b = der.Close(b, es)
	}
	b = der.Close(b, s)
	return der.Close(b, f)
}

func appendPrincipalName(b []byte, pn *types.PrincipalName) []byte {
	b, s := der.Open(b, der.TagSequence)
	b = intField(b, 0, int64(pn.NameType))
	b, f := der.Open(b, der.Context(1))
	b, names := der.Open(b, der.TagSequence)
	for _, n := range pn.NameString {
		b = der.AppendGeneralString(b, n)
	}
	b = der.Close(b, names)
	b = der.Close(b, f)
	return der.Close(b, s)
}

func appendEncryptionKey(b []byte, k *types.EncryptionKey) []byte {
	b, s := der.Open(b, der.TagSequence)
	b = intField(b, 0, int64(k.KeyType))
	b = octetField(b, 1, k.KeyValue)
	return der.Close(b, s)
}

func appendEncryptedData(b []byte, ed *types.EncryptedData) []byte {
	b, s := der.Open(b, der.TagSequence)
	b = intField(b, 0, int64(ed.EType))
	if ed.KVNO != 0 {
		b = intField(b, 1, int64(ed.KVNO))
	}
	b = octetField(b, 2, ed.Cipher)
	return der.Close(b, s)
}

func intField(b []byte, tag int, v int64) []byte {
	b, f := der.Open(b, der.Context(tag))
	b = der.AppendInteger(b, v)
	return der.Close(b, f)
}

func stringField(b []byte, tag int, s string) []byte {
	b, f := der.Open(b, der.Context(tag))
	b = der.AppendGeneralString(b, s)
	return der.Close(b, f)
}

func octetField(b []byte, tag int, v []byte) []byte {
	b, f := der.Open(b, der.Context(tag))
	b = der.AppendOctetString(b, v)
	return der.Close(b, f)
}

func bitStringField(b []byte, tag int, bits []byte, bitLength int) []byte {
	b, f := der.Open(b, der.Context(tag))
	b = der.AppendBitString(b, bits, bitLength)
	return der.Close(b, f)
}

func timeField(b []byte, tag int, t time.Time) ([]byte, error) {
	b, f := der.Open(b, der.Context(tag))
	b, err := der.AppendGeneralizedTime(b, t)
	if err != nil {
		return b, err
	}
	return der.Close(b, f), nil
}

// optTimeField writes an optional time: absent when it is time.Time{}.
func optTimeField(b []byte, tag int, t time.Time) ([]byte, error) {
	if t == (time.Time{}) {
		return b, nil
	}
	return timeField(b, tag, t)
}
