package db

import (
	"errors"
	"fmt"
	"strings"
)

// ErrProtected is returned for a change that would take away a principal the
// realm's security rests on: deleting the realm's krbtgt, deleting another
// protected principal without Force, or using a protected name as an alias
// (which would make the KDC decrypt tickets with the alias owner's key).
var ErrProtected = errors.New("protected principal")

// Service principals that kdcha itself relies on, without the realm.
const (
	// HealthPrincipal is the principal the agent's own kinit probe uses.
	HealthPrincipal = "kdcha/health"
	// ChangePasswordPrincipal and AdminPrincipal are the MIT names of the
	// password-change and admin services.
	ChangePasswordPrincipal = "kadmin/changepw"
	AdminPrincipal          = "kadmin/admin"
)

// RealmTGS returns the canonical name of the realm's ticket-granting
// service, krbtgt/REALM@REALM: its key decrypts every TGT.
func RealmTGS(realm string) string { return "krbtgt/" + realm + "@" + realm }

// isProtected reports whether canonical name in realm is a principal whose
// key the realm trusts for everything: any krbtgt (the realm's own and
// cross-realm ones), the health probe's and the password/admin services'.
func isProtected(name, realm string) bool {
	base, ok := strings.CutSuffix(name, "@"+realm)
	if !ok {
		return false
	}
	switch base {
	case HealthPrincipal, ChangePasswordPrincipal, AdminPrincipal:
		return true
	}
	return strings.HasPrefix(base, "krbtgt/")
}

// checkDeletable refuses deleting the realm's krbtgt (nothing would decrypt
// TGTs, and a later alias could take the name) and deleting another
// protected principal unless forced.
func checkDeletable(name, realm string, force bool) error {
	if name == RealmTGS(realm) {
		return fmt.Errorf("%w: %s is the realm's ticket-granting service and cannot be deleted (rekey it instead)", ErrProtected, name)
	}
	if isProtected(name, realm) && !force {
		return fmt.Errorf("%w: %s is protected; delete it with --force if you mean it", ErrProtected, name)
	}
	return nil
}

// checkNotProtectedAlias refuses a protected name as an alias: an alias
// resolves to its owner's keys, so "krbtgt/R as an alias of alice" would make
// every TGT forgeable with alice's password.
func checkNotProtectedAlias(alias, realm string) error {
	if isProtected(alias, realm) {
		return fmt.Errorf("%w: %s cannot be an alias", ErrProtected, alias)
	}
	return nil
}

// IsProtected reports whether canonical name is one of realm's protected
// principals (any krbtgt, kdcha/health, kadmin/changepw, kadmin/admin):
// services whose keys must stay random.
func IsProtected(name, realm string) bool { return isProtected(name, realm) }
