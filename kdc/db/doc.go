// Package db is the principal database of a kdcha node.
//
// It owns:
//   - the principal model and the Reader contract the KDC uses
//     (principal.go);
//   - the realm master key stash, a keyring of master key versions
//     (mkvno), and the sealing of keys at rest with AES-256-GCM bound to
//     (name, enctype, kvno), each sealed key naming its version
//     (masterkey.go); live rotation of the master key: the replicated
//     add/re-seal/acknowledge/retire commands (rotate.go) and the driver
//     and per-node worker that acknowledges versions and compacts the log
//     after a retirement (rotation.go);
//   - key derivation from passwords, random keys, and the one table of
//     the enctypes the database holds and their MIT names and aliases
//     (keys.go); a principal's own enctype set, kept by its password
//     changes and rekeys (Principal.EncTypes);
//   - password policies, replicated and enforced on every password set:
//     the content rules where keys are derived (policy.go, with the
//     built-in common-password list in commonpasswords.go), history of
//     key hashes, min life and max life in the FSM (pwhistory.go), and
//     password expiry that follows policy changes (policyexpiry.go); MIT
//     listprincs globs (glob.go);
//   - the replicated state: versioned JSON commands (commands.go), a
//     deterministic hashicorp/raft FSM that assigns revisions and checks
//     kvnos (fsm.go) and its snapshots (snapshot.go);
//   - the in-memory index of decrypted principals that answers Lookup and
//     Similar without disk or network I/O (index.go), and the canonical
//     name check shared by the FSM and the index (names.go);
//   - the Raft node: raft-boltdb/v2 log and stable stores, file snapshots,
//     the transport the caller gives (or plain TCP for one node/dev),
//     bootstrap of a first node versus a joining one, snapshot files kept
//     0700/0600 (snapshotfiles.go), a full disk reported as such rather
//     than as lost quorum (diskfull.go) (node.go; raftlog.go
//     routes Raft's and its network transport's logs to slog, one WARN
//     per unreachable peer), and the replay of committed entries at
//     start so that a node restarting without quorum still serves its full
//     replica (applied.go);
//   - multi-node operation: proposing a change on the leader or, through
//     a caller-supplied function, forwarding it from a follower and
//     acknowledging it once applied locally, re-sealing keys after a kvno
//     race (propose.go), with typed errors across the wire (forward.go); read
//     barriers for fresh admin reads, and stale reads from the local
//     replica when there is no quorum (sync.go); membership changes, the
//     membership check and the refusal of a member's ID at a new address
//     (membership.go); single-use join token hashes (tokens.go) and the
//     sealed cluster CA key (cakey.go) in the replicated state; the cluster view for `cluster status` (status.go);
//     backup and restore-into-a-new-cluster (backup.go); Prometheus
//     collectors (metrics.go);
//   - Open/Close, data directory metadata (realm, master key check, node
//     ID, join intent; Initialized tells whether a dir holds a database)
//     and the admin operations (db.go, meta.go, initialized.go, admin.go),
//     and new private files written whole or not at all (files.go);
//   - MIT keytab export (keytab.go);
//   - importing whole principals (keys with their kvnos and salts) as one
//     atomic Raft entry per run, with their policies (import.go).
//
// It does not own: the KDC protocol (package kdc), the admin API and CLI,
// lockout counting (node-local in the KDC; only lock/unlock transitions,
// with their time, are replicated here), and cluster credentials, TLS and
// the RPC between nodes (package cluster, which this package never
// imports: it receives a raft.Transport and a forwarding function).
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
// a 1 MiB tmpfs). Cluster tests run three nodes in one process over raft's
// in-memory transport, with forwarding as a direct HandleForwarded call:
// writes through followers, leader loss, a cut-off follower, a node joining
// from a snapshot, member restarts, concurrent rekeys from every node,
// membership changes, master key rotation (every key re-sealed, the old
// version gone from every stash, log and snapshot; a follower down; a
// restart mid-rotation; a node back after the retirement); backup tests
// cover the round trip and the refusals.
// Benchmarks measure replicated write latency (in-memory and loopback TCP
// transports), load time, heap and snapshot size for N principals:
//
//	go test ./kdc/db/...
//	go test -race ./kdc/db/...
//	go test -run '^$' -bench . ./kdc/db/
//	go test -run '^$' -bench ReplicatedWrite -benchtime 300x ./kdc/db/
//	KDCHA_BENCH_1M=1 go test -run '^$' -bench Load -benchtime 1x -timeout 30m ./kdc/db/
package db
