package bench

import (
	"errors"
	"fmt"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// ASN.1 identifier octets of the replies (APPLICATION 11, 13, 30).
const (
	tagASRep    = 0x6b
	tagTGSRep   = 0x6d
	tagKRBError = 0x7e
)

// errMalformed is a reply that is not a well-formed AS-REP, TGS-REP or
// KRB-ERROR.
var errMalformed = errors.New("malformed reply")

// readTLV splits one DER element off b: its identifier octet, its content
// and what follows. Lengths are checked before slicing.
func readTLV(b []byte) (tag byte, content, rest []byte, err error) {
	if len(b) < 2 {
		return 0, nil, nil, errMalformed
	}
	tag, n, b := b[0], int(b[1]), b[2:]
	if n&0x80 != 0 {
		k := n & 0x7f
		if k == 0 || k > 4 || len(b) < k {
			return 0, nil, nil, errMalformed
		}
		n = 0
		for _, c := range b[:k] {
			n = n<<8 | int(c)
		}
		b = b[k:]
	}
	if n < 0 || n > len(b) {
		return 0, nil, nil, errMalformed
	}
	return tag, b[:n], b[n:], nil
}

// smallInt decodes an INTEGER element of at most 4 content bytes.
func smallInt(b []byte) (int32, error) {
	tag, c, _, err := readTLV(b)
	if err != nil || tag != 0x02 || len(c) == 0 || len(c) > 4 {
		return 0, errMalformed
	}
	v := int32(int8(c[0]))
	for _, x := range c[1:] {
		v = v<<8 | int32(x)
	}
	return v, nil
}

// checkReply is the cheap check every reply gets: the outer element spans
// the whole reply, it is a SEQUENCE of context fields whose msg-type [1]
// matches the tag, and for a KRB-ERROR the error-code [6] is read. It
// returns the tag and, for an error, its code.
func checkReply(b []byte) (tag byte, code int32, err error) {
	tag, content, rest, err := readTLV(b)
	if err != nil || len(rest) != 0 {
		return 0, 0, errMalformed
	}
	want := map[byte]int32{tagASRep: 11, tagTGSRep: 13, tagKRBError: 30}[tag]
	if want == 0 {
		return 0, 0, fmt.Errorf("%w: tag %#x", errMalformed, tag)
	}
	seq, fields, rest, err := readTLV(content)
	if err != nil || seq != 0x30 || len(rest) != 0 {
		return 0, 0, errMalformed
	}
	sawType := false
	for len(fields) > 0 {
		var ftag byte
		var f []byte
		if ftag, f, fields, err = readTLV(fields); err != nil {
			return 0, 0, err
		}
		switch ftag {
		case 0xa1:
			if v, err := smallInt(f); err != nil || v != want {
				return 0, 0, fmt.Errorf("%w: msg-type %d under tag %#x", errMalformed, v, tag)
			}
			sawType = true
		case 0xa6:
			if tag == tagKRBError {
				if code, err = smallInt(f); err != nil {
					return 0, 0, err
				}
				return tag, code, nil
			}
		}
	}
	if !sawType || tag == tagKRBError {
		return 0, 0, fmt.Errorf("%w: no msg-type or error-code", errMalformed)
	}
	return tag, 0, nil
}

// verifyReply fully decodes a sampled reply and, for an AS-REP or TGS-REP,
// decrypts its enc-part (with the client key or the TGT session key) and
// checks it answers nonce.
func verifyReply(b []byte, tag byte, key types.EncryptionKey, nonce uint32) error {
	var ed types.EncryptedData
	var usage uint32
	switch tag {
	case tagKRBError:
		var e messages.KRBError
		return e.Unmarshal(b)
	case tagASRep:
		var r messages.ASRep
		if err := r.Unmarshal(b); err != nil {
			return err
		}
		ed, usage = r.EncPart, keyusage.AS_REP_ENCPART
	case tagTGSRep:
		var r messages.TGSRep
		if err := r.Unmarshal(b); err != nil {
			return err
		}
		ed, usage = r.EncPart, keyusage.TGS_REP_ENCPART_SESSION_KEY
	}
	if key.KeyValue == nil {
		return nil // mode as without a password: nothing to decrypt with
	}
	plain, err := crypto.DecryptEncPart(ed, key, usage)
	if err != nil {
		return fmt.Errorf("decrypt enc-part: %w", err)
	}
	var part messages.EncKDCRepPart
	if err := part.Unmarshal(plain); err != nil {
		return fmt.Errorf("decode enc-part: %w", err)
	}
	if part.Nonce != int(nonce) {
		return fmt.Errorf("reply nonce %d, request %d", part.Nonce, nonce)
	}
	return nil
}
