package kdc

import (
	"fmt"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/asn1tools"
	"github.com/jcmturner/gokrb5/v8/iana"
	"github.com/jcmturner/gokrb5/v8/iana/asnAppTag"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/kdcha/kdcha/kdc/db"
	"github.com/kdcha/kdcha/kdc/internal/kcrypto"
)

// flagSet reports whether bit i of a Kerberos flags/options bit string is
// set. Unlike gokrb5's IsFlagSet it never indexes past the data.
func flagSet(bs asn1.BitString, i int) bool {
	if i < 0 || i >= bs.BitLength || i/8 >= len(bs.Bytes) {
		return false
	}
	return bs.Bytes[i/8]&(0x80>>(uint(i)%8)) != 0
}

// newFlags returns an all-clear 32-bit flags value with the given bits set.
func newFlags(bits ...int) asn1.BitString {
	f := types.NewKrbFlags()
	for _, b := range bits {
		types.SetFlag(&f, b)
	}
	return f
}

// sealTicket encrypts a ticket's EncTicketPart in the service key (key usage 2).
func sealTicket(etp messages.EncTicketPart, sname types.PrincipalName, realm string, key db.Key) (messages.Ticket, error) {
	b, err := asn1.Marshal(etp)
	if err != nil {
		return messages.Ticket{}, fmt.Errorf("marshal EncTicketPart: %w", err)
	}
	b = asn1tools.AddASNAppTag(b, asnAppTag.EncTicketPart)
	keys, err := longTermKeys(key, keyusage.KDC_REP_TICKET)
	if err != nil {
		return messages.Ticket{}, err
	}
	ed, err := encrypt(b, keys, key.KVNO)
	if err != nil {
		return messages.Ticket{}, err
	}
	return messages.Ticket{TktVNO: iana.PVNO, Realm: realm, SName: sname, EncPart: ed}, nil
}

// sealRepPart encrypts the reply's EncKDCRepPart. appTag is 25 for an AS-REP
// and 26 for a TGS-REP: gokrb5 always writes 25, which MIT and Java accept,
// but RFC 4120 and every other KDC use 26 for TGS and strict decoders may not.
// keys are the reply key's derived keys for the reply's key usage.
func sealRepPart(part messages.EncKDCRepPart, appTag int, keys *kcrypto.Keys, kvno uint32) (types.EncryptedData, error) {
	b, err := asn1.Marshal(part)
	if err != nil {
		return types.EncryptedData{}, fmt.Errorf("marshal EncKDCRepPart: %w", err)
	}
	b = asn1tools.AddASNAppTag(b, appTag)
	return encrypt(b, keys, kvno)
}

// lastReq is the LastReq a reply carries: MIT sends a single entry of type 0
// with time 0 because it keeps no last-request data, and neither do we
// (writing it per login would put a replicated write on the hot path).
func lastReq() []messages.LastReq {
	return []messages.LastReq{{LRType: 0, LRValue: time.Unix(0, 0).UTC()}}
}

// decodeTicketPart decrypts a ticket with the service's key and decodes it.
func decodeTicketPart(t messages.Ticket, key db.Key) (messages.EncTicketPart, error) {
	keys, err := longTermKeys(key, keyusage.KDC_REP_TICKET)
	if err != nil {
		return messages.EncTicketPart{}, err
	}
	plain, err := decrypt(t.EncPart, keys)
	if err != nil {
		return messages.EncTicketPart{}, fmt.Errorf("decrypt ticket: %w", err)
	}
	var etp messages.EncTicketPart
	if err := etp.Unmarshal(plain); err != nil {
		return messages.EncTicketPart{}, fmt.Errorf("decode ticket: %w", err)
	}
	return etp, nil
}
