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
//     files.go). The CA key is not kept there: the node runtime moves it
//     into the replicated database (CAKey, ForgetCAKey) and hands it to
//     the join server only to sign a joiner's certificate; it is never
//     sent;
//   - renewing them live during `kdcha cluster rotate-credentials`
//     (rotate.go): Renew and SetTrusted replace the files and take effect
//     from the next handshake, and open Raft connections are verified
//     again when the trusted CAs change;
//   - join tokens "kdcha1.<secret>.<sha256 of the CA certificate>": this
//     package makes them and hashes their secrets (SHA-256); the Handler
//     stores the hashes and uses a token up at the join, so a token is
//     valid once, on any member. The fingerprint lets the joiner pin the
//     CA before it trusts anything the member says (tokens.go);
//   - the cluster listener (Mux): one TLS 1.3 port whose connections are
//     routed by ALPN to Raft (ProtoRaft, mutual TLS, via a raft.StreamLayer),
//     member RPC (ProtoRPC, mutual TLS) and joins (ProtoJoin, server
//     authentication plus token). Other CAs, missing client certificates,
//     certificates of nodes that are not members (the Members check, made
//     at the handshake and again on every Raft read and RPC request, so
//     that removal revokes a node) and unknown protocols are refused,
//     counted and logged. Handshakes are bounded per source IP and in
//     total and must finish within 3 s (mux.go, listener.go,
//     streamlayer.go, tls.go);
//   - the member RPC: Forward (opaque write to the leader, "not leader,
//     leader is X" redirects), Status (opaque JSON) and Join, served for a
//     Handler that cmd/kdcha implements (rpc.go, join.go, wire.go), the
//     Client for them (client.go) and the Forwarder that finds the leader
//     with bounded retries (forward.go);
//   - the `cluster:` configuration section (config.go).
//
// It does not own: the Raft node, its configuration changes and stores
// (kdc/db; Handler.Admit adds the node, Members reads the configuration),
// where tokens and the CA key are stored, what a forwarded payload means,
// the master key's format, the status document, or the CLI. There is no
// certificate rotation or CA renewal yet; revocation is by membership: a
// removed node's certificate stays valid but opens nothing.
//
// Wiring in cmd/kdcha (agent): Load the credentials, Listen with the
// validated Config and a Members check over the database's Raft
// configuration, build the database's Raft transport on the mux,
//
//	trans := db.NewNetworkTransport(mux.StreamLayer(), log) // logs through slog
//
// pass NewForwarder(NewClient(creds, cfg), leaderAddr, log).Forward as the
// database's forwarding hook (leaderAddr returns the Raft leader address,
// which is the leader's cluster address), then Serve a Handler over the
// opened database.
//
// Tests run everything over loopback in one process: credential and token
// tables, refused connections (another CA, no certificate, not a member,
// unknown or no ALPN) with their counters, a member removed while its
// connections stay open, floods of silent connections against the
// handshake limits, three hashicorp/raft nodes with in-memory stores
// electing a leader and replicating over the mux, forwarding with
// redirects and retries, and full joins (good token, wrong secret, used
// token, wrong CA pin) followed by mutual TLS with the new credentials:
//
//	go test ./cluster/...
//	go test -race ./cluster/...
package cluster
