package kdc

import (
	"time"

	"github.com/jcmturner/gokrb5/v8/iana/errorcode"

	"github.com/kdcha/kdcha/kdc/db"
)

// Expirations, checked as MIT's validate_as_request does and before
// preauthentication as there: an expired principal gets
// KDC_ERR_NAME_EXP; an expired password gets KDC_ERR_KEY_EXPIRED, except
// in a request for the password-change service, which is how MIT kinit
// changes an expired password ("Password expired. You must change it
// now."): it asks for a kadmin/changepw ticket with the old password and
// runs kpasswd with it. An expired service gets KDC_ERR_SERVICE_EXP.

// checkClientExpiry refuses an AS request of an expired client, or of a
// client with an expired password for any service but kadmin/changepw.
func checkClientExpiry(client, server *db.Principal, realm string, now time.Time) *krbError {
	if !client.Expires.IsZero() && now.After(client.Expires) {
		return newError(errorcode.KDC_ERR_NAME_EXP, "client %s expired at %s", client.Name, client.Expires.Format(time.RFC3339))
	}
	if !client.PasswordExpires.IsZero() && now.After(client.PasswordExpires) && server.Name != db.ChangePasswordPrincipal+"@"+realm {
		return newError(errorcode.KDC_ERR_KEY_EXPIRED, "password of %s expired at %s", client.Name, client.PasswordExpires.Format(time.RFC3339))
	}
	return nil
}

// checkServiceExpiry refuses tickets for an expired service.
func checkServiceExpiry(server *db.Principal, now time.Time) *krbError {
	if !server.Expires.IsZero() && now.After(server.Expires) {
		return newError(errorcode.KDC_ERR_SERVICE_EXP, "service %s expired at %s", server.Name, server.Expires.Format(time.RFC3339))
	}
	return nil
}
