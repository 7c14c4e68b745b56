package kdc

import (
	"fmt"
	"strings"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana"
	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/iana/msgtype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/kdcha/kdcha/kdc/internal/wire"
)

// krbError is a protocol failure to be answered with a KRB-ERROR. It carries
// what the client is told (code, eText, eData) apart from what the operator
// is told in the log (detail), because the two audiences need different
// things: a client must not learn which names exist nearby, an operator must.
type krbError struct {
	code   int32
	eText  string
	eData  []byte
	detail string
}

func (e *krbError) Error() string {
	if e.detail != "" {
		return fmt.Sprintf("%s: %s", errorName(e.code), e.detail)
	}
	return errorName(e.code)
}

// newError builds a krbError; detail is a printf format for the log.
func newError(code int32, format string, args ...any) *krbError {
	return &krbError{code: code, eText: errorText(code), detail: fmt.Sprintf(format, args...)}
}

// errorText is the RFC description of an error code, without its name.
func errorText(code int32) string {
	if code >= 0 && int(code) < len(errorNames) {
		return errorNames[code][1]
	}
	_, text := splitErrorLookup(code)
	return text
}

// errorName is the short RFC name of an error code, e.g. KDC_ERR_PREAUTH_FAILED.
func errorName(code int32) string {
	if code >= 0 && int(code) < len(errorNames) {
		return errorNames[code][0]
	}
	name, _ := splitErrorLookup(code)
	return name
}

// errorNames holds splitErrorLookup's name and text of the codes RFC 4120
// defines (0-93), computed once: gokrb5's Lookup formats with Sprintf on
// every call, twice per error reply.
var errorNames = func() (t [94][2]string) {
	for i := range t {
		t[i][0], t[i][1] = splitErrorLookup(int32(i))
	}
	return t
}()

// splitErrorLookup splits gokrb5's "(24) KDC_ERR_PREAUTH_FAILED Pre-authentication
// information was invalid" into name and description.
func splitErrorLookup(code int32) (name, text string) {
	s := errorcode.Lookup(code)
	if _, rest, ok := strings.Cut(s, ") "); ok && strings.HasPrefix(s, "(") {
		s = rest
	} else {
		return fmt.Sprintf("ERROR_%d", code), s
	}
	name, text, _ = strings.Cut(s, " ")
	return name, text
}

// marshalError encodes a KRB-ERROR. stime/susec must be accurate: MIT clients
// use them to correct their clock offset after KRB_AP_ERR_SKEW and
// PREAUTH_REQUIRED.
func marshalError(e *krbError, realm string, cname types.PrincipalName, crealm string, sname types.PrincipalName, now time.Time) ([]byte, error) {
	now = now.UTC()
	ke := messages.KRBError{
		PVNO:      iana.PVNO,
		MsgType:   msgtype.KRB_ERROR,
		STime:     now.Truncate(time.Second),
		Susec:     now.Nanosecond() / 1000,
		ErrorCode: e.code,
		Realm:     realm,
		SName:     sname,
		EText:     e.eText,
		EData:     e.eData,
	}
	if len(cname.NameString) > 0 {
		ke.CName = cname
		ke.CRealm = crealm
	}
	if len(ke.SName.NameString) == 0 {
		ke.SName = tgsName(realm)
	}
	b, err := wire.AppendKRBError(make([]byte, 0, replyCap), &ke)
	if err != nil {
		return nil, fmt.Errorf("marshal KRB-ERROR %d: %w", e.code, err)
	}
	return b, nil
}
