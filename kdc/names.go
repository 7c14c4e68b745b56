package kdc

import (
	"strings"

	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/types"
)

// principalKey turns a wire principal name plus realm into the database key
// "a/b@REALM". It refuses components that would make the joined form
// ambiguous (an embedded "/" or "@" could otherwise name another principal).
func principalKey(pn types.PrincipalName, realm string) (string, bool) {
	if len(pn.NameString) == 0 || realm == "" {
		return "", false
	}
	for _, c := range pn.NameString {
		if c == "" || strings.ContainsAny(c, "/@\\\x00") {
			return "", false
		}
	}
	return joinName(pn.NameString, realm), true
}

// displayName renders a wire name for logs even when it is malformed.
func displayName(pn types.PrincipalName, realm string) string {
	if len(pn.NameString) == 0 {
		return "<none>@" + realm
	}
	return joinName(pn.NameString, realm)
}

// joinName is "a/b@REALM" built with one allocation (Join then + takes
// two, on every lookup and log line).
func joinName(components []string, realm string) string {
	n := len(components) + len(realm)
	for _, c := range components {
		n += len(c)
	}
	var b strings.Builder
	b.Grow(n)
	for i, c := range components {
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(c)
	}
	b.WriteByte('@')
	b.WriteString(realm)
	return b.String()
}

// tgsName is the name of the realm's ticket-granting service.
func tgsName(realm string) types.PrincipalName {
	return types.PrincipalName{NameType: nametype.KRB_NT_SRV_INST, NameString: []string{"krbtgt", realm}}
}

// isLocalTGS reports whether pn names this realm's ticket-granting service.
func isLocalTGS(pn types.PrincipalName, realm string) bool {
	return len(pn.NameString) == 2 && pn.NameString[0] == "krbtgt" && pn.NameString[1] == realm
}
