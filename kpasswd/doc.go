// Package kpasswd owns the Kerberos password-change service (RFC 3244, the
// protocol MIT's and Heimdal's kpasswd and Java/gokrb5 clients speak on
// port 464): the message codec (codec.go), which is pure and bounded, and
// the server Handler (server.go), which authenticates the AP-REQ for
// kadmin/changepw, decrypts the KRB-PRIV, decides whether the caller may
// change or set the password, writes it through the replicated database and
// answers with an AP-REP and a KRB-PRIV (or a KRB-ERROR when the request
// could not be authenticated). The sockets are the KDC's (kdc.Listen with a
// kdc.Responder), so replies leave from the address a request arrived on.
package kpasswd
