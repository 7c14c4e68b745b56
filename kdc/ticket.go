package kdc

import (
	"fmt"
	"sync"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/iana"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/kdcha/kdcha/kdc/db"
	"github.com/kdcha/kdcha/kdc/internal/kcrypto"
	"github.com/kdcha/kdcha/kdc/internal/wire"
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
	keys, err := longTermKeys(key, keyusage.KDC_REP_TICKET)
	if err != nil {
		return messages.Ticket{}, err
	}
	buf := getScratch()
	defer putScratch(buf)
	*buf, err = wire.AppendEncTicketPart((*buf)[:0], &etp)
	if err != nil {
		return messages.Ticket{}, fmt.Errorf("marshal EncTicketPart: %w", err)
	}
	ed, err := encrypt(*buf, keys, key.KVNO)
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
	buf := getScratch()
	defer putScratch(buf)
	var err error
	*buf, err = wire.AppendEncKDCRepPart((*buf)[:0], &part, appTag)
	if err != nil {
		return types.EncryptedData{}, fmt.Errorf("marshal EncKDCRepPart: %w", err)
	}
	return encrypt(*buf, keys, kvno)
}

// scratchPool holds the buffers the plaintext of EncTicketPart and
// EncKDCRepPart is encoded into: encryption copies it, so the buffer can
// serve the next request. It holds session keys, so it is cleared on return.
var scratchPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func getScratch() *[]byte { return scratchPool.Get().(*[]byte) }

func putScratch(b *[]byte) {
	clear((*b)[:cap(*b)])
	scratchPool.Put(b)
}

// replyCap is the initial capacity of a reply buffer: most AS-REPs and
// TGS-REPs fit, so the encoder does not grow it.
const replyCap = 1024

// lastReqs is the LastReq every reply carries: MIT sends a single entry of
// type 0 with time 0 because it keeps no last-request data, and neither do
// we (writing it per login would put a replicated write on the hot path).
// Shared: the encoders only read it.
var lastReqs = []messages.LastReq{{LRType: 0, LRValue: time.Unix(0, 0).UTC()}}

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
	if err := wire.DecodeEncTicketPart(plain, &etp); err != nil {
		return messages.EncTicketPart{}, fmt.Errorf("decode ticket: %w", err)
	}
	return etp, nil
}
