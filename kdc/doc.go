// Package kdc is kdcha's embedded Kerberos 5 KDC: the AS and TGS exchanges of
// RFC 4120 with the AES enctypes of RFC 3962 and RFC 8009, served over UDP and
// TCP.
//
// It owns the protocol engine (Handler: request bytes in, reply bytes out,
// a pure function of the request, the principal database, the clock and a
// random source) and the listeners that move bytes between sockets and the
// Handler. It does not own principals or keys: it reads them through the
// narrow db.Reader interface, which the product backs with the Raft-replicated
// in-memory index of package kdc/db. Nothing on the request path touches the
// disk, Raft or a lock held across crypto.
//
// The hot path avoids reflection and repeated work: replies are encoded by
// kdc/internal/wire (hand-written DER on kdc/internal/der, byte for byte
// what gokrb5's reflection encoder writes), and encryption uses
// kdc/internal/kcrypto, which derives each database key's Ke/Ki once and
// keeps them in a bounded cache. Requests are decoded by kdc/internal/wire
// too, into gokrb5's types, with the length and range checks gokrb5's
// decoder lacks.
//
// Each UDP address is served by GOMAXPROCS sockets bound with SO_REUSEPORT,
// one reader goroutine each, with buffers the reader owns; a datagram that
// waited longer than kdc.request_max_age in its socket is shed unanswered.
// Each reader and each TCP connection owns its counters (requests by
// exchange and result, latency histogram, bytes, shed), summed only when
// read (Stats, /metrics, `kdcha stats`).
//
// The listeners also count, per socket, the requests that enter and leave
// the handler (Progress), so the agent can tell a stalled KDC from a busy
// one from inside (StallDetector, ProgressProbe), and accept faults an
// operator injects for tests and demos (Faults, only when enabled).
//
// Tests: the Handler is tested in-process against an in-memory Reader (unit
// tests for lifetimes, flags, enctype selection and every error code, fuzz
// tests for request decoding and TCP framing); the listeners and the whole
// KDC are tested end to end with the MIT client tools and gokrb5 in
// cmd/kdcha's integration tests.
package kdc
