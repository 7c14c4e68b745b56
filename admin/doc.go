// Package admin is the node's administration API: JSON over HTTP on a local
// unix socket (mode 0600, so only the KDC's own user and root reach it), and
// the Go client the `kdcha` CLI uses. The server refuses a socket directory
// another user could write (they could replace the socket); the client
// checks who serves the socket before it sends anything (socketdir.go).
//
// It owns the wire format of admin requests and the mapping of database
// errors to HTTP statuses. It does not own principals, keys or Raft: every
// request is a call on a Store (the product passes kdc/db.DB), and no key
// material leaves the server except as the keytab bytes asked for.
//
// Tests: server and client together over a real unix socket against a
// single-node database in a temp dir (admin_test.go); an impostor run as
// another user on a world-writable directory (socketdir_test.go).
package admin
