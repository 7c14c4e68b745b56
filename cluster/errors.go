package cluster

import (
	"errors"
	"fmt"
)

// Sentinel errors; match them with errors.Is.
var (
	// ErrNoCredentials: the directory holds no cluster credentials (the
	// node was never initialised or joined).
	ErrNoCredentials = errors.New("cluster: no credentials")
	// ErrCredentialsExist: CreateCluster or JoinCluster found credentials
	// already in place; they are never overwritten, since that would
	// silently move the node to another cluster.
	ErrCredentialsExist = errors.New("cluster: credentials already exist")
	// ErrInvalidToken: a join token is malformed, unknown, expired,
	// already used or names another cluster's CA.
	ErrInvalidToken = errors.New("cluster: invalid join token")
	// ErrFingerprintMismatch: the server a joiner reached does not present
	// the CA pinned by the token (a wrong address or a man in the middle).
	ErrFingerprintMismatch = errors.New("cluster: server CA does not match the token's fingerprint")
	// ErrNotLeader: the member that received a forwarded request is not
	// the Raft leader. The error is a *NotLeaderError naming the leader.
	ErrNotLeader = errors.New("cluster: not the leader")
	// ErrNotMember: a peer holds a certificate of the cluster CA but its
	// node is not a member (it was removed, or never added).
	ErrNotMember = errors.New("cluster: node is not a member")
	// ErrInvalid: a configuration value or request field is unusable.
	ErrInvalid = errors.New("cluster: invalid")
)

// NotLeaderError is what a Handler returns from Forward when this node is
// not the leader, and what a Client returns when a peer answered so. It
// matches ErrNotLeader.
type NotLeaderError struct {
	// Leader is the cluster address of the leader as this node knows it;
	// "" while no leader is known (an election is under way).
	Leader string
}

func (e *NotLeaderError) Error() string {
	if e.Leader == "" {
		return "cluster: not the leader, no leader known"
	}
	return fmt.Sprintf("cluster: not the leader, leader is %s", e.Leader)
}

// Is makes errors.Is(err, ErrNotLeader) true.
func (e *NotLeaderError) Is(target error) bool { return target == ErrNotLeader }

// RemoteError is an error a peer answered with that has no sentinel here,
// typically the Handler's own error. Message is the peer's error text.
type RemoteError struct {
	// Addr is the peer's cluster address.
	Addr string
	// Code is the machine-readable class ("internal", "bad_request", ...).
	Code string
	// Message is the peer's error text.
	Message string
}

func (e *RemoteError) Error() string {
	return fmt.Sprintf("cluster: %s answered %s: %s", e.Addr, e.Code, e.Message)
}
