// Package db is the principal database of a kdcha node.
//
// It owns:
//   - the principal model and the Reader contract the KDC uses
//     (principal.go);
//   - the realm master key stash and the sealing of keys at rest with
//     AES-256-GCM bound to (name, enctype, kvno) (masterkey.go);
//   - key derivation from passwords, random keys, the enctype allow-list
//     and the password policy (keys.go);
//   - the replicated state: versioned JSON commands (commands.go), a
//     deterministic hashicorp/raft FSM that assigns revisions and checks
//     kvnos (fsm.go) and its snapshots (snapshot.go);
//   - the in-memory index of decrypted principals that answers Lookup and
//     Similar without disk or network I/O (index.go), and the canonical
//     name check shared by the FSM and the index (names.go);
//   - the Raft node behind a small interface, with raft-boltdb/v2 log and
//     stable stores, file snapshots and a TCP transport (node.go,
//     raftlog.go routes Raft's logs to slog), and the replay of committed
//     entries at start so that a node restarting without quorum still
//     serves its full replica (applied.go);
//   - Open/Close, data directory metadata (realm, master key check) and the
//     admin operations (db.go, meta.go, admin.go), and new private files
//     written whole or not at all (files.go);
//   - MIT keytab export (keytab.go);
//   - an in-memory Reader and key derivation for tests of the KDC
//     (static.go); the product always reads through a DB.
//
// It does not own: the KDC protocol (package kdc), the admin API and CLI,
// lockout counting (node-local in the KDC; only lock/unlock transitions are
// replicated here), cluster membership, request forwarding to the leader
// and TLS between nodes (a later change replaces the single-node Raft
// implementation behind the node interface).
//
// Invariants: keys are sealed by the proposer before a command enters
// Raft, so the log and snapshots only hold ciphertext; no key or password
// is logged; revisions and kvnos never go backwards, even across delete and
// re-create (tombstones remember them); the FSM applies a command fully or
// not at all, with time taken from the command.
//
// Tests: unit tests drive the FSM directly with raft.Log values
// (determinism, kvno and revision monotonicity, aliases, snapshot round
// trip, corrupt snapshots), the master key and password policy tables, the
// keytab codec against gokrb5's parser and MIT klist when installed, and
// end-to-end tests Open a real single-node Raft in a temp dir (reopen,
// wrong master key, wrong realm, corrupt snapshot, lost quorum and a
// crash copy, concurrent readers under -race, and, as root, a full disk on
// a 1 MiB tmpfs).
// Benchmarks measure writes per second and open time for N principals:
//
//	go test ./kdc/db/...
//	go test -race ./kdc/db/...
//	go test -run '^$' -bench . ./kdc/db/
package db
