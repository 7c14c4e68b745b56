package kdc

import (
	"fmt"

	"github.com/jcmturner/gofork/encoding/asn1"

	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/kdcha/kdcha/kdc/db"
)

// Responder turns one request into one reply (nil: drop it). The KDC's
// Handler is one; other services that share the KDC's addresses and
// listener behaviour (kpasswd on port 464) are others.
type Responder interface {
	// Handle answers one datagram or TCP frame.
	Handle(req Request) []byte
	// ErrorReply encodes the reply to a transport failure (an over-long
	// TCP frame), or nil to send nothing.
	ErrorReply(code int32, detail string) []byte
}

// TicketError is why a ticket could not be opened, with the RFC 4120 error
// code a service reports for it.
type TicketError struct {
	// Code is a KRB_AP_ERR_* code.
	Code int32
	// Detail says what was wrong, for logs.
	Detail string
}

func (e *TicketError) Error() string { return e.Detail }

// OpenTicket decrypts a ticket issued to owner with the owner's key of the
// ticket's enctype and key version: a ticket issued before the last rekey
// opens with the previous key.
func OpenTicket(owner *db.Principal, tkt messages.Ticket) (messages.EncTicketPart, *TicketError) {
	key, ok := owner.KeyFor(tkt.EncPart.EType)
	if ok && tkt.EncPart.KVNO != 0 && uint32(tkt.EncPart.KVNO) != key.KVNO {
		key, ok = owner.KeyForVersion(tkt.EncPart.EType, uint32(tkt.EncPart.KVNO))
	}
	if !ok {
		return messages.EncTicketPart{}, &TicketError{errorcode.KRB_AP_ERR_BADKEYVER, fmt.Sprintf("ticket kvno %d enctype %d: %s has no such key (current kvno %d)", tkt.EncPart.KVNO, tkt.EncPart.EType, owner.Name, owner.KVNO())}
	}
	etp, err := decodeTicketPart(tkt, key)
	if err != nil {
		return etp, &TicketError{errorcode.KRB_AP_ERR_BAD_INTEGRITY, err.Error()}
	}
	return etp, nil
}

// FlagSet reports whether bit i of a Kerberos flags bit string is set,
// never indexing past the data (unlike gokrb5's IsFlagSet).
func FlagSet(bs asn1.BitString, i int) bool { return flagSet(bs, i) }

// PrincipalKey returns the database name ("a/b@REALM") of a wire name, or
// false when a component is empty or holds a separator.
func PrincipalKey(pn types.PrincipalName, realm string) (string, bool) {
	return principalKey(pn, realm)
}
