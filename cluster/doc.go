// Package cluster is the node-to-node plumbing of a kdcha cluster:
// who is a member, how members recognise each other, and the one
// encrypted port they talk over.
//
// It exists because none of the other packages can hold this: the
// database (kdc/db) replicates through a raft.Transport and forwards opaque
// writes through a hook, and cmd/kdcha wires the two; this package carries
// the bytes and never imports kdc/db.
//
// It owns:
//   - the cluster credentials: a self-signed ECDSA P-256 CA made by
//     `kdcha cluster init`, a node certificate per node (node ID in the CN,
//     the fixed DNS SAN ServerName so peers are dialed by IP), stored as
//     0600 PEM files in a 0700 directory (credentials.go, pki.go,
//     files.go). The CA key is shared with every member so any member can
//     admit nodes; it only leaves a node inside a join reply;
//   - join tokens "kdcha1.<secret>.<sha256 of the CA certificate>":
//     secrets stored only as SHA-256 hashes with an expiry (24 h by
//     default), valid on the node that issued them, compared in constant
//     time; the fingerprint lets the joiner pin the CA before it trusts
//     anything the member says (tokens.go);
//   - the cluster listener (Mux): one TLS 1.3 port whose connections are
//     routed by ALPN to Raft (ProtoRaft, mutual TLS, via a raft.StreamLayer),
//     member RPC (ProtoRPC, mutual TLS) and joins (ProtoJoin, server
//     authentication plus token). Other CAs, missing client certificates
//     and unknown protocols are refused, counted and logged (mux.go,
//     listener.go, streamlayer.go, tls.go);
//   - the member RPC: Forward (opaque write to the leader, "not leader,
//     leader is X" redirects), Status (opaque JSON) and Join, served for a
//     Handler that cmd/kdcha implements (rpc.go, join.go, wire.go), the
//     Client for them (client.go) and the Forwarder that finds the leader
//     with bounded retries (forward.go);
//   - the `cluster:` configuration section (config.go).
//
// It does not own: the Raft node, its configuration changes and stores
// (kdc/db; Handler.Admit adds the voter), what a forwarded payload means,
// the master key's format, the status document, or the CLI. There is no
// certificate rotation, revocation or CA renewal yet: a removed node keeps
// a valid certificate, so removing a member must be followed by new
// cluster credentials if its host is not trusted any more.
//
// Wiring in cmd/kdcha (agent): Load the credentials, Listen with the
// validated Config, build the database's Raft transport on the mux,
//
//	trans := raft.NewNetworkTransportWithLogger(mux.StreamLayer(), 3, 10*time.Second, hlog)
//
// pass NewForwarder(NewClient(creds, cfg), leaderAddr, log).Forward as the
// database's forwarding hook (leaderAddr returns the Raft leader address,
// which is the leader's cluster address), then Serve a Handler over the
// opened database.
//
// Tests run everything over loopback in one process: credential and token
// tables, refused connections (another CA, no certificate, unknown or no
// ALPN) with their counters, three hashicorp/raft nodes with in-memory
// stores electing a leader and replicating over the mux, forwarding with
// redirects and retries, and full joins (good token, wrong secret, expired,
// wrong CA pin) followed by mutual TLS with the new credentials:
//
//	go test ./cluster/...
//	go test -race ./cluster/...
package cluster
