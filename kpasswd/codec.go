package kpasswd

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/types"
)

// Protocol versions of a request (RFC 3244 section 2): 1 is the original
// change-password protocol (the KRB-PRIV carries the new password only),
// 0xff80 is set-password (it carries a ChangePasswdData, which may name
// another principal). Replies always carry version 1.
const (
	VersionChangePassword uint16 = 0x0001
	VersionSetPassword    uint16 = 0xff80
)

// Result codes of RFC 3244 (and MIT's 7).
const (
	ResultSuccess           uint16 = 0
	ResultMalformed         uint16 = 1
	ResultHardError         uint16 = 2
	ResultAuthError         uint16 = 3
	ResultSoftError         uint16 = 4
	ResultAccessDenied      uint16 = 5
	ResultBadVersion        uint16 = 6
	ResultInitialFlagNeeded uint16 = 7
)

// Size limits. The length fields are 16 bits, so no message exceeds 65535
// bytes; a password and a result text have tighter caps of their own.
const (
	headerLen = 6
	// MaxPasswordLen caps a new password (MIT's kpasswd reads at most 1024).
	MaxPasswordLen = 1024
	// maxResultText caps the text of a result (MIT's server uses 1024).
	maxResultText = 1024
)

// ErrMalformed wraps every decoding failure.
var ErrMalformed = errors.New("kpasswd: malformed message")

// Request is the framing of a request: a 2-byte total length, 2-byte
// version, 2-byte AP-REQ length, the AP-REQ and the KRB-PRIV.
type Request struct {
	// Version is VersionChangePassword or VersionSetPassword.
	Version uint16
	// APReq is the encoded AP-REQ.
	APReq []byte
	// Priv is the encoded KRB-PRIV.
	Priv []byte
}

// DecodeRequest splits a request into its parts. The version is returned
// even when it is unknown so the caller can answer BAD_VERSION.
func DecodeRequest(b []byte) (Request, error) {
	var r Request
	if len(b) < headerLen {
		return r, fmt.Errorf("%w: %d bytes, shorter than the header", ErrMalformed, len(b))
	}
	if n := int(binary.BigEndian.Uint16(b)); n != len(b) {
		return r, fmt.Errorf("%w: length field %d, message is %d bytes", ErrMalformed, n, len(b))
	}
	r.Version = binary.BigEndian.Uint16(b[2:])
	apLen := int(binary.BigEndian.Uint16(b[4:]))
	if apLen == 0 || headerLen+apLen >= len(b) {
		return r, fmt.Errorf("%w: AP-REQ length %d leaves no KRB-PRIV in %d bytes", ErrMalformed, apLen, len(b))
	}
	r.APReq = b[headerLen : headerLen+apLen]
	r.Priv = b[headerLen+apLen:]
	return r, nil
}

// EncodeRequest is the inverse of DecodeRequest (for clients and tests).
func EncodeRequest(version uint16, apReq, priv []byte) ([]byte, error) {
	n := headerLen + len(apReq) + len(priv)
	if n > 0xffff {
		return nil, fmt.Errorf("kpasswd: request of %d bytes exceeds 65535", n)
	}
	b := binary.BigEndian.AppendUint16(nil, uint16(n))
	b = binary.BigEndian.AppendUint16(b, version)
	b = binary.BigEndian.AppendUint16(b, uint16(len(apReq)))
	return append(append(b, apReq...), priv...), nil
}

// EncodeReply frames a reply: version 1, the AP-REP (empty when the body
// is a KRB-ERROR) and the KRB-PRIV or KRB-ERROR.
func EncodeReply(apRep, body []byte) ([]byte, error) {
	n := headerLen + len(apRep) + len(body)
	if n > 0xffff {
		return nil, fmt.Errorf("kpasswd: reply of %d bytes exceeds 65535", n)
	}
	b := binary.BigEndian.AppendUint16(nil, uint16(n))
	b = binary.BigEndian.AppendUint16(b, VersionChangePassword)
	b = binary.BigEndian.AppendUint16(b, uint16(len(apRep)))
	return append(append(b, apRep...), body...), nil
}

// EncodeResult is the user data of a reply: a 2-byte result code and a
// UTF-8 text (truncated to a bound, on a rune boundary).
func EncodeResult(code uint16, text string) []byte {
	if len(text) > maxResultText {
		text = text[:maxResultText]
		for !utf8.ValidString(text) {
			text = text[:len(text)-1]
		}
	}
	return append(binary.BigEndian.AppendUint16(nil, code), text...)
}

// ChangePasswdData is the RFC 3244 set-password payload. TargName is empty
// (NameType 0, no strings) when the client changes its own password.
type ChangePasswdData struct {
	NewPasswd []byte              `asn1:"explicit,tag:0"`
	TargName  types.PrincipalName `asn1:"explicit,optional,tag:1"`
	TargRealm string              `asn1:"generalstring,optional,explicit,tag:2"`
}

// DecodeChangePasswdData decodes the user data of a set-password request.
func DecodeChangePasswdData(b []byte) (ChangePasswdData, error) {
	var c ChangePasswdData
	rest, err := asn1.Unmarshal(b, &c)
	if err != nil {
		return c, fmt.Errorf("%w: ChangePasswdData: %v", ErrMalformed, err)
	}
	if len(rest) != 0 {
		return c, fmt.Errorf("%w: %d bytes after ChangePasswdData", ErrMalformed, len(rest))
	}
	return c, nil
}

// checkPassword bounds a new password and requires UTF-8: keys are derived
// from the bytes, and a password that is not text could not be typed again.
func checkPassword(pw []byte) error {
	if len(pw) > MaxPasswordLen {
		return fmt.Errorf("new password is %d bytes, at most %d allowed", len(pw), MaxPasswordLen)
	}
	if !utf8.Valid(pw) {
		return errors.New("new password is not valid UTF-8")
	}
	return nil
}
