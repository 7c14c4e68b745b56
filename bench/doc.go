// Package bench is a load generator for any Kerberos KDC (kdcha, MIT
// krb5kdc, Heimdal): it sends AS-REQs without or with PA-ENC-TIMESTAMP, or
// TGS-REQs, over UDP or TCP, in a closed loop (a fixed number of requests
// in flight) or an open loop (a target rate, for overload tests), and
// reports requests per second, replies by class, errors by Kerberos code,
// latency percentiles and its own CPU use.
//
// Every request is distinct: a fresh nonce, and for preauthenticated AS
// and for TGS a fresh timestamp and a freshly encrypted PA-ENC-TIMESTAMP or
// authenticator (new confounder). MIT answers a repeated request from its
// lookaside cache, so replayed bytes would measure a hash lookup. To keep
// the generator cheaper than the KDC it measures, each request is built by
// patching fixed-length fields into bytes marshalled once (template.go);
// every reply is checked with a small DER walk (reply.go) and one in
// Config.SampleEvery is fully decoded and decrypted.
//
// The package owns no KDC and no principal: the caller names a reachable
// KDC, a client principal and its password (and, for TGS, a service).
// It is tested against kdcha's own KDC in-process and, when installed,
// against MIT krb5kdc.
package bench
